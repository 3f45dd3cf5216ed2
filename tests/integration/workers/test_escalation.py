"""Safeguarding escalation through the real stack: a moderator escalates over Socket.IO (live
process), the resident gets the emergency guidance at once, a real worker mails the force's
contact centre (SMTP sink) and posts the signed webhook to a loopback receiver (retried after a
503), the escalation is audited and listed for the admin, and the text is never public: not on
the page, not in any replay, not in the transcript or its exports."""
from __future__ import annotations

import hashlib
import hmac
import json
import uuid

import pytest

from services.engagement import settings as engagement_settings
from services.live import actions
from services.rooms.actions import change_state
from tenants.db import tenant_scope
from tenants.errors import Conflict
from tests.support.console import admin_client
from tests.support.webhook_receiver import WebhookReceiver
from tests.support.workers import wait_until
from services.transcripts.build import build_and_store

SECRET_TEXT = "My neighbour says he will hurt himself tonight"
PUBLISHED_THEN_ESCALATED = "The man next door keeps threatening his children"


@pytest.fixture()
def receiver():
    hook = WebhookReceiver(fail_first=1).start()
    yield hook
    hook.stop()


def configure(world, **changes) -> dict:
    data = {"escalation_email": "", "escalation_webhook_url": "", "escalation_share_network_hash": False,
            "regenerate_secret": False, "crime_reporting_url": "", "signpost": "", "disabled": [], "texts": {},
            **changes}
    with tenant_scope(world.tenant.id) as tx:
        return engagement_settings.update(tx, world.admin, data)


def test_escalation_reaches_the_force_and_is_never_published(app_ctx, make_world, live_pair, clients, worker, sink,
                                                             receiver, app):
    world = make_world()
    contact = f"contact-centre-{uuid.uuid4().hex[:6]}@force.police.uk"
    settings = configure(world, escalation_email=contact, escalation_webhook_url=receiver.url,
                         escalation_share_network_hash=True)
    author, other = world.join("Worried Neighbour"), world.join("Onlooker")
    asker = clients(live_pair[0].url, world.resident_token(author), last_seq=world.room["last_seq"])
    watcher = clients(live_pair[1].url, world.resident_token(other), last_seq=world.room["last_seq"])
    moderator = clients(live_pair[1].url, world.staff_token(world.moderator), staff_last_seq=0)

    pending = asker.call("ask", {"body": SECRET_TEXT})
    reply = moderator.call("escalate", {"question_id": pending["id"], "note": "Caller at risk tonight"})
    assert reply["ok"], reply
    guidance = asker.wait_for(lambda: [m for m in asker.private if m["kind"] == "emergency"])
    assert "999" in guidance[0]["body"] and guidance[0]["question_id"] == pending["id"]
    assert asker.wait_for(lambda: [q for q in asker.my_questions if q["status"] == "escalated"])

    # a published question escalated later is withdrawn, and its text leaves the public log
    published = asker.call("ask", {"body": PUBLISHED_THEN_ESCALATED})
    assert moderator.call("approve", {"question_id": published["id"]})["ok"]
    watcher.wait_for(lambda: watcher.events_of("question.published"))
    assert moderator.call("escalate", {"question_id": published["id"]})["ok"]
    watcher.wait_for(lambda: watcher.events_of("question.hidden"))

    # nothing escalated can be published, answered or escalated twice
    for question_id in (pending["id"], published["id"]):
        refused = moderator.call("approve", {"question_id": question_id})
        assert refused["ok"] is False and "escalated" in refused["message"]
    assert moderator.call("escalate", {"question_id": pending["id"]})["error"] == "conflict"
    with pytest.raises(Conflict):
        with tenant_scope(world.tenant.id) as tx:
            actions.answer_question(tx, world.host, pending["id"], "An answer")

    # the mail to the contact centre: original text, time, network reference (policy allows it)
    mails = sink.wait_for(contact, count=2)
    with tenant_scope(world.tenant.id) as tx:
        rows = tx.all("select * from escalations order by created_at")
        author_hash = tx.value("select network_hash from participants where id = %s", [author["id"]])
    assert len(rows) == 2 and all(r["network_hash"] == author_hash for r in rows)
    [message] = [m for m in mails if SECRET_TEXT in m.text()]
    assert len(mails) == 2 and all("Safeguarding escalation" in m.subject for m in mails)
    text = message.text()
    assert author_hash in text and "Caller at risk tonight" in text and str(rows[0]["id"]) in text

    # the webhook: refused once with 503, retried, then accepted; signed over timestamp + body
    wait_until(lambda: len(receiver.accepted()) == 2, timeout=40, message="both webhooks accepted")
    by_question = {}
    for hit in receiver.accepted():
        stamp = hit.headers["X-Townhall-Timestamp"]
        expected = "sha256=" + hmac.new(settings["escalation_webhook_secret"].encode(), stamp.encode() + b"." + hit.body,
                                        hashlib.sha256).hexdigest()
        assert hmac.compare_digest(hit.headers["X-Townhall-Signature"], expected)
        body = json.loads(hit.body)
        by_question[body["question"]["id"]] = body
    assert by_question[pending["id"]]["question"]["text"] == SECRET_TEXT
    assert by_question[pending["id"]]["connection"] == {"network_hash": author_hash}
    assert by_question[pending["id"]]["question"]["asked_at"]
    assert len(receiver.received) == 3   # one 503, then one delivery each
    with tenant_scope(world.tenant.id) as tx:
        states = tx.all("select webhook_status, webhook_attempts from escalations order by created_at")
        audited = tx.value("select count(*) from audit_log where action = 'question.escalated'")
    assert {s["webhook_status"] for s in states} == {"delivered"} and sum(s["webhook_attempts"] for s in states) == 3
    assert audited == 2

    # never public: the page, a replay from the start, the transcript and every export
    client, _ = admin_client(app, world.tenant, world.admin)
    page = client.get(f"/t/{world.tenant.slug}/rooms/{world.room['id']}").get_data(as_text=True)
    fresh = clients(live_pair[0].url, world.token("viewer"), last_seq=0)
    fresh.wait_for(lambda: fresh.events_of("question.hidden"))
    replayed = json.dumps(fresh.room_events) + json.dumps(watcher.room_events[-1:])
    with tenant_scope(world.tenant.id) as tx:
        change_state(tx, world.host, world.room["id"], "closed")
    assert build_and_store(world.tenant.id, world.room["id"]) == "stored"
    with tenant_scope(world.tenant.id) as tx:
        transcript = tx.one("select * from transcripts where room_id = %s", [world.room["id"]])
    exports = [client.get(f"/t/{world.tenant.slug}/console/rooms/{world.room['id']}/transcript.{fmt}")
               for fmt in ("csv", "json")]
    assert all(r.status_code == 200 for r in exports)
    public_transcript = client.get(f"/t/{world.tenant.slug}/rooms/{world.room['id']}/transcript").get_data(as_text=True)
    for text_seen in [page, replayed, transcript["html"], transcript["text"], transcript["json"], transcript["csv"],
                      public_transcript, *[r.get_data(as_text=True) for r in exports]]:
        assert SECRET_TEXT not in text_seen and PUBLISHED_THEN_ESCALATED not in text_seen

    # listed for the tenant admin (and not for a moderator)
    listing = client.get(f"/t/{world.tenant.slug}/console/escalations").get_data(as_text=True)
    assert SECRET_TEXT in listing and PUBLISHED_THEN_ESCALATED in listing and "delivered" in listing


def test_residents_and_other_tenants_cannot_escalate(app_ctx, make_world, live_pair, clients):
    victim, attacker = make_world(), make_world()
    resident = victim.join()
    rc = clients(live_pair[0].url, victim.resident_token(resident))
    question = rc.call("ask", {"body": "Please do not escalate me"})
    assert rc.call("escalate", {"question_id": question["id"]})["error"] == "forbidden"
    intruder = clients(live_pair[1].url, attacker.staff_token(attacker.moderator), staff_last_seq=0)
    assert intruder.call("escalate", {"question_id": question["id"]})["error"] == "not_found"
    assert intruder.call("escalate", {"question_id": "not-a-uuid"})["error"] == "invalid"
    with tenant_scope(victim.tenant.id) as tx:
        assert tx.value("select status from questions where id = %s", [question["id"]]) == "pending"
        assert tx.value("select count(*) from escalations") == 0


def test_webhook_address_must_be_a_plain_web_address(app_ctx, make_world):
    from services.lib.validation import load
    from tenants.errors import ValidationFailed

    make_world()
    for bad in ("ftp://example.org/hook", "http://user:pw@example.org/hook", "not a url"):
        with pytest.raises(ValidationFailed, match="webhook address"):
            load(engagement_settings.EngagementSettingsSchema, {"escalation_webhook_url": bad})


def test_sweep_delivers_a_webhook_whose_task_was_lost(app_ctx, make_world, worker, receiver):
    from workers import escalations as tasks

    receiver.fail_first = 0
    world = make_world()
    configure(world, escalation_webhook_url=receiver.url)
    resident = world.join()
    with tenant_scope(world.tenant.id) as tx:
        question = actions.submit_question(tx, resident, "Lost task question")
        escalation = actions.escalate_question(tx, world.moderator, question["id"])
        tx._after_commit.clear()                       # as if Redis lost the task (and the live emits)
    with tenant_scope(world.tenant.id) as tx:
        tx.execute("update escalations set webhook_next_at = now() - interval '5 minutes' where id = %s",
                   [escalation["id"]])
    assert tasks.sweep.run() >= 1
    hit = receiver.wait_for_accepted()
    assert json.loads(hit.body)["id"] == str(escalation["id"]) and hit.headers["X-Townhall-Delivery"] == str(escalation["id"])
    def status():
        with tenant_scope(world.tenant.id) as tx:
            return tx.value("select webhook_status from escalations where id = %s", [escalation["id"]])
    wait_until(lambda: status() == "delivered", message="the webhook marked delivered")
    assert tasks.sweep.run() == 0 and len(receiver.accepted()) == 1   # nothing left to send: sent once
