"""Rooms, their lifecycle and the staff console over HTTP (the no-JavaScript path)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from services.rooms import actions as room_actions
from tenants.db import tenant_scope
from tenants.errors import Conflict, Forbidden
from tests.support.console import enable_totp, sign_in as console_sign_in


def sign_in(client, tenant, staff):
    """Signs in through the real forms; admins must use TOTP, so they get a secret first."""
    secret = enable_totp(tenant, staff) if staff.role == "admin" else None
    response = console_sign_in(client, tenant, staff.email, secret=secret)
    assert response.status_code == 302 and response.location.endswith(f"/t/{tenant.slug}/console/"), response.location
    return response


def future(hours=1):
    return (datetime.now(timezone.utc) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")


def test_staff_schedule_open_moderate_answer_and_close_without_javascript(client, make_tenant, make_staff):
    tenant = make_tenant()
    admin = make_staff(tenant, "admin", display_name="Alex Admin")
    sign_in(client, tenant, admin)
    created = client.post(f"/t/{tenant.slug}/console/rooms/new", data={
        "title": "Neighbourhood chat: Hillside", "starts_at": future(1), "ends_at": future(2),
        "tags": "anti-social behaviour, speeding", "mode": "moderated", "votes_enabled": "on",
        "slow_mode_seconds": "0"})
    assert created.status_code == 302
    room_id = re.search(r"/rooms/([0-9a-f-]{36})/", created.headers["Location"]).group(1)
    base = f"/t/{tenant.slug}/console/rooms/{room_id}"
    for state in ("scheduled", "live"):
        assert client.post(f"{base}/commands/room_state", data={"state": state}).status_code == 302
    # a resident joins and asks through the plain forms
    resident = client.application.test_client()
    resident.post(f"/t/{tenant.slug}/rooms/{room_id}/join", data={"display_name": "Jo"})
    asked = resident.post(f"/t/{tenant.slug}/rooms/{room_id}/questions", data={"body": "When is the next PACT meeting?"})
    assert asked.status_code == 302
    page = resident.get(f"/t/{tenant.slug}/rooms/{room_id}").get_data(as_text=True)
    assert "waiting for a moderator" in page
    with tenant_scope(tenant.id) as tx:
        question_id = tx.value("select id from questions where room_id = %s", [room_id])
    queue = client.get(f"{base}/moderate")
    assert queue.status_code == 200 and "When is the next PACT meeting?" in queue.get_data(as_text=True)
    client.post(f"{base}/commands/approve", data={"question_id": question_id, "body": ""})
    client.post(f"{base}/commands/poll_open", data={"prompt": "Which night suits you?", "options": "Tuesday\nThursday"})
    host_view = client.get(f"{base}/host").get_data(as_text=True)
    assert "When is the next PACT meeting?" in host_view and "Which night suits you?" in host_view
    client.post(f"{base}/commands/answer", data={"question_id": question_id, "body": "Tuesday at 7pm, the library."})
    public = client.application.test_client().get(f"/t/{tenant.slug}/rooms/{room_id}").get_data(as_text=True)
    assert "When is the next PACT meeting?" in public and "Tuesday at 7pm, the library." in public
    assert "Alex Admin" in public
    client.post(f"{base}/commands/room_state", data={"state": "closed"})
    closed = resident.get(f"/t/{tenant.slug}/rooms/{room_id}").get_data(as_text=True)
    assert "This chat has closed" in closed
    with tenant_scope(tenant.id) as tx:
        actions = [r["action"] for r in tx.all("select action from audit_log order by id")]
    assert {"room.created", "room.live", "question.approved", "question.answered", "room.closed"} <= set(actions)


def test_room_form_errors_are_shown_next_to_fields_and_nothing_is_saved(client, make_tenant, make_staff):
    tenant = make_tenant()
    sign_in(client, tenant, make_staff(tenant, "admin"))
    response = client.post(f"/t/{tenant.slug}/console/rooms/new", data={
        "title": "ab", "starts_at": future(2), "ends_at": future(1)})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="title-error"' in html and 'id="ends_at-error"' in html and "after the start" in html
    with tenant_scope(tenant.id) as tx:
        assert tx.value("select count(*) from rooms") == 0


def test_a_tag_too_long_is_named_in_a_sentence_not_shown_as_raw_data(client, make_tenant, make_staff):
    tenant = make_tenant()
    sign_in(client, tenant, make_staff(tenant, "admin"))
    response = client.post(f"/t/{tenant.slug}/console/rooms/new", data={
        "title": "Neighbourhood chat", "starts_at": future(1), "ends_at": future(2),
        "tags": "speeding, " + "x" * 41})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert '<p class="field-error" id="tags-error">Tag 2: Length must be between 1 and 40.</p>' in html
    assert "{1:" not in html and "[&#39;" not in html


def test_console_requires_sign_in_and_wrong_password_is_refused(client, make_tenant, make_staff):
    tenant = make_tenant()
    staff = make_staff(tenant)
    assert client.get(f"/t/{tenant.slug}/console/").status_code == 302
    bad = client.post(f"/t/{tenant.slug}/console/sign-in", data={"email": staff.email, "password": "wrong-password"})
    assert bad.status_code == 400 and "do not match" in bad.get_data(as_text=True)


def test_staff_session_cookie_of_tenant_a_is_worthless_on_tenant_b(client, make_tenant, make_staff):
    a, b = make_tenant(), make_tenant()
    sign_in(client, a, make_staff(a))
    cookie = client.get_cookie("th_staff", path=f"/t/{a.slug}/")
    other = client.application.test_client()
    other.set_cookie("th_staff", cookie.value, path=f"/t/{b.slug}/")
    assert other.get(f"/t/{b.slug}/console/").status_code == 302  # sent to sign in: no session there


def test_roles_are_checked_in_actions(app_ctx, make_tenant, make_staff):
    tenant = make_tenant()
    moderator = make_staff(tenant, "moderator")
    start = datetime.now(timezone.utc) + timedelta(hours=1)
    with pytest.raises(Forbidden):
        with tenant_scope(tenant.id) as tx:
            room_actions.create_room(tx, moderator, {"title": "Not allowed", "starts_at": start,
                                                     "ends_at": start + timedelta(hours=1)})


def test_lifecycle_rules(app_ctx, make_tenant, make_staff):
    tenant = make_tenant()
    admin, host = make_staff(tenant, "admin"), make_staff(tenant, "host")
    start = datetime.now(timezone.utc) + timedelta(hours=1)
    with tenant_scope(tenant.id) as tx:
        room = room_actions.create_room(tx, host, {"title": "Lifecycle", "starts_at": start,
                                                   "ends_at": start + timedelta(hours=1)})
        room_actions.change_state(tx, host, room["id"], "live")
        with pytest.raises(Conflict):
            room_actions.update_room(tx, host, room["id"], {"mode": "open"})
        with pytest.raises(Conflict):
            room_actions.delete_room(tx, admin, room["id"])
        room_actions.change_state(tx, host, room["id"], "closed")
        with pytest.raises(Forbidden):
            room_actions.change_state(tx, host, room["id"], "archived")
        with pytest.raises(Conflict):
            room_actions.change_state(tx, admin, room["id"], "live")
        room_actions.change_state(tx, admin, room["id"], "archived")


def test_suspended_tenant_rooms_cannot_open_and_residents_see_a_paused_page(client, app_ctx, make_tenant, make_staff):
    tenant = make_tenant(state="suspended")
    host = make_staff(tenant, "host")
    start = datetime.now(timezone.utc) + timedelta(hours=1)
    with tenant_scope(tenant.id) as tx:
        room = room_actions.create_room(tx, host, {"title": "Paused", "starts_at": start,
                                                   "ends_at": start + timedelta(hours=1)})
        with pytest.raises(Conflict, match="paused"):
            room_actions.change_state(tx, host, room["id"], "live", tenant_state="suspended")
    page = client.get(f"/t/{tenant.slug}/")
    assert page.status_code == 503 and "paused" in page.get_data(as_text=True)


def test_another_tenants_room_is_not_found_on_every_console_and_resident_url(client, make_tenant, make_staff):
    a, b = make_tenant(), make_tenant()
    staff_a, staff_b = make_staff(a), make_staff(b)
    start = datetime.now(timezone.utc) + timedelta(hours=1)
    with tenant_scope(b.id) as tx:
        room = room_actions.create_room(tx, staff_b, {"title": "Secret room of B", "starts_at": start,
                                                      "ends_at": start + timedelta(hours=1)})
        room_actions.change_state(tx, staff_b, room["id"], "live")
    sign_in(client, a, staff_a)
    rid = room["id"]
    for method, path in [("get", f"/t/{a.slug}/console/rooms/{rid}/moderate"),
                         ("get", f"/t/{a.slug}/console/rooms/{rid}/host"),
                         ("get", f"/t/{a.slug}/console/rooms/{rid}/edit"),
                         ("post", f"/t/{a.slug}/console/rooms/{rid}/delete"),
                         ("post", f"/t/{a.slug}/console/rooms/{rid}/commands/room_state"),
                         ("get", f"/t/{a.slug}/rooms/{rid}"),
                         ("post", f"/t/{a.slug}/rooms/{rid}/join")]:
        response = getattr(client, method)(path, data={"state": "closed"} if method == "post" else None)
        assert response.status_code == 404, path
        assert "Secret room of B" not in response.get_data(as_text=True)
    with tenant_scope(b.id) as tx:
        assert tx.value("select state from rooms where id = %s", [rid]) == "live"
