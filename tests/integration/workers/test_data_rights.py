"""Residents' data rights through the real stack: the form, the verification mail (SMTP sink),
the staff console with the due date, the subject access export mailed as JSON by a real worker,
deletion, the beat reminder at 7 days left, and the audit trail. The export holds every
registration and question linked to the email across two rooms and nothing of another resident
or another tenant."""
from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

from services.live import actions
from services.rooms.actions import change_state
from tenants.db import tenant_scope
from tests.support.console import admin_client
from tests.support.workers import wait_until
from workers.data_rights import remind_due


def room_url(world, room_id, path=""):
    return f"/t/{world.tenant.slug}/rooms/{room_id}{path}"


def second_room(world):
    from services.rooms import actions as rooms

    with tenant_scope(world.tenant.id) as tx:
        room = rooms.create_room(tx, world.admin, {"title": "Rural crime evening", "starts_at": world.room["starts_at"],
                                                   "ends_at": world.room["ends_at"], "slow_mode_seconds": 0})
        return change_state(tx, world.admin, room["id"], "scheduled")


def take_part(client, world, room_id, email, question, *, register_first: bool):
    def register():
        assert client.post(room_url(world, room_id, "/register"), data={"email": email}).status_code == 302

    def join_and_ask():
        assert client.post(room_url(world, room_id, "/join"), data={"display_name": "Jo Resident"}).status_code == 302
        client.post(room_url(world, room_id, "/questions"), data={"body": question})

    if register_first:
        register()
        with tenant_scope(world.tenant.id) as tx:
            change_state(tx, world.host, room_id, "live")
        join_and_ask()
    else:
        join_and_ask()
        register()


def mail_about(sink, to, subject_part):
    return wait_until(lambda: [m for m in sink.messages(to) if subject_part in m.subject], message=subject_part)


def verify_link(sink, email) -> str:
    message = mail_about(sink, email, "Confirm your request")[-1]
    return re.search(r"https?://\S+/your-data/verify/\S+", message.text()).group(0).split("/t/", 1)[1]


def test_subject_access_and_deletion(app, app_ctx, make_world, worker, sink):
    world, elsewhere = make_world(), make_world()
    email, other_email = f"jo-{uuid.uuid4().hex[:6]}@example.org", f"sam-{uuid.uuid4().hex[:6]}@example.org"
    jo, sam = app.test_client(), app.test_client()
    take_part(jo, world, world.room["id"], email, "Why was the Riverside desk closed?", register_first=False)
    later = second_room(world)
    take_part(jo, world, later["id"], email, "Who patrols the farms at night?", register_first=True)
    take_part(sam, world, world.room["id"], other_email, "Sam's own question", register_first=False)
    take_part(app.test_client(), elsewhere, elsewhere.room["id"], email, "Another force entirely", register_first=False)
    with tenant_scope(world.tenant.id) as tx:   # one question reached an answer
        q = tx.one("select id from questions where body = 'Why was the Riverside desk closed?'")
        actions.approve_question(tx, world.moderator, q["id"])
        actions.answer_question(tx, world.host, q["id"], "To fund two more PCSOs.")

    # the form answers the same for an unknown address and sends nothing
    resident = app.test_client()
    unknown = resident.post(f"/t/{world.tenant.slug}/your-data", data={"email": "nobody@example.org", "kind": "access"},
                            follow_redirects=True).get_data(as_text=True)
    known = resident.post(f"/t/{world.tenant.slug}/your-data", data={"email": email.upper(), "kind": "access"},
                          follow_redirects=True).get_data(as_text=True)
    assert "If we hold this email address" in unknown and "If we hold this email address" in known
    bad = resident.post(f"/t/{world.tenant.slug}/your-data", data={"email": "not-an-email", "kind": "copy"})
    assert bad.status_code == 400 and "Enter an email address" in bad.get_data(as_text=True)
    link = verify_link(sink, email)
    assert "Confirm my request" in resident.get(f"/t/{link}").get_data(as_text=True)
    confirmed = resident.post(f"/t/{link}").get_data(as_text=True)
    assert "Your request is confirmed" in confirmed and "We will complete it by" in confirmed
    with tenant_scope(world.tenant.id) as tx:
        assert tx.value("select count(*) from data_requests where email = 'nobody@example.org'") == 0
        request = tx.one("select * from data_requests where email = %s", [email])
    assert request["status"] == "open" and 28 <= (request["due_at"] - request["verified_at"]).days <= 31
    assert resident.post(f"/t/{link}x").status_code in (400, 422)   # a tampered link

    # staff see it with its due date, and the export holds exactly Jo's data in this tenant
    admin, _ = admin_client(app, world.tenant, world.admin)
    listing = admin.get(f"/t/{world.tenant.slug}/console/data-requests").get_data(as_text=True)
    assert email in listing and re.search(r"(2[89]|3[01]) days left", listing)
    export = admin.get(f"/t/{world.tenant.slug}/console/data-requests/{request['id']}/export.json").get_json()
    assert sorted(r["room"] for r in export["registrations"]) == ["Ask the Commissioner", "Rural crime evening"]
    assert sorted(q["text"] for q in export["questions"]) == ["Who patrols the farms at night?",
                                                              "Why was the Riverside desk closed?"]
    answered = [q for q in export["questions"] if q["answers"]]
    assert answered[0]["answers"][0]["text"] == "To fund two more PCSOs."
    dumped = json.dumps(export)
    assert "Sam's own question" not in dumped and other_email not in dumped and "Another force" not in dumped
    elsewhere_admin, _ = admin_client(app, elsewhere.tenant, elsewhere.admin)
    assert elsewhere_admin.get(f"/t/{elsewhere.tenant.slug}/console/data-requests/{request['id']}/export.json"
                               ).status_code == 404

    # the beat reminder at 7 days left, once
    assert remind_due.run((request["due_at"] - timedelta(days=8)).isoformat()) == 0
    assert remind_due.run((request["due_at"] - timedelta(days=6)).isoformat()) == 1
    assert remind_due.run((request["due_at"] - timedelta(days=5)).isoformat()) == 0
    reminder = mail_about(sink, world.admin.email, "data request is due")
    assert reminder and "Complete it here" in reminder[0].text()

    # completing an access request mails the export as JSON to the verified address
    assert "Request completed." in admin.post(f"/t/{world.tenant.slug}/console/data-requests/{request['id']}/complete",
                                              follow_redirects=True).get_data(as_text=True)
    copy = mail_about(sink, email, "A copy of your data")[0]
    attached = json.loads(copy.attachments()[0].get_content())
    assert attached["questions"] == export["questions"] and len(attached["registrations"]) == 2
    again = admin.post(f"/t/{world.tenant.slug}/console/data-requests/{request['id']}/complete", follow_redirects=True)
    assert "already completed" in again.get_data(as_text=True)

    # deletion for Sam: the question, the participant and the registration go; Jo's stay
    resident.post(f"/t/{world.tenant.slug}/your-data", data={"email": other_email, "kind": "deletion"})
    resident.post(f"/t/{verify_link(sink, other_email)}")
    with tenant_scope(world.tenant.id) as tx:
        sam_request = tx.one("select id from data_requests where email = %s", [other_email])
    admin.post(f"/t/{world.tenant.slug}/console/data-requests/{sam_request['id']}/complete")
    with tenant_scope(world.tenant.id) as tx:
        assert tx.value("select count(*) from questions where body = %s", ["Sam's own question"]) == 0
        assert tx.value("select count(*) from registrations where email = %s", [other_email]) == 0
        assert tx.value("select count(*) from questions where body like 'Wh%%'") == 2
        actions_logged = {r["action"] for r in tx.all("select action from audit_log where target_kind = 'data_request'")}
    assert {"data_request.access.asked", "data_request.access.verified", "data_request.export_viewed",
            "data_request.access.completed", "data_request.deletion.completed"} <= actions_logged
