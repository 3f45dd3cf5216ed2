"""Staff management and panelists, through the console and the actions; removal ends access at once."""
from __future__ import annotations

import uuid

import pytest
import socketio

from services.live import actions as live_actions
from services.residents.actions import join_room
from tenants import staff as staff_actions
from tenants.auth import Staff, staff_by_id
from tenants.db import tenant_scope
from tenants.errors import Conflict, Forbidden, NotFound
from tests.support.console import PASSWORD, admin_client, console, field_error, path_of, sign_in
from tests.support.live_client import LiveClient


def _link(token: str) -> str:
    return f"http://localhost/invite/{token}"


def test_admin_invites_a_moderator_who_accepts_and_signs_in(app, make_tenant, make_staff, smtp_sink):
    tenant = make_tenant()
    admin = make_staff(tenant, "admin", display_name="Alex Admin")
    client, _ = admin_client(app, tenant, admin)
    email = f"mo-{tenant.slug}@force.police.uk"
    bad = client.post(console(tenant, "staff/invite"), data={"email": "not-an-email", "display_name": "", "role": "boss"})
    assert bad.status_code == 400
    for field in ("email", "display_name", "role"):
        assert field_error(bad.text, field), field
    sent = client.post(console(tenant, "staff/invite"),
                       data={"email": email, "display_name": "Morgan Mod", "title": "Engagement", "role": "moderator"})
    assert sent.status_code == 302
    message = smtp_sink.wait_for(email, "invited")
    assert "Alex Admin has invited you" in smtp_sink.text(message) and "as a moderator" in smtp_sink.text(message)
    first_link = smtp_sink.link(email, "invited")
    page = client.get(console(tenant, "staff"))
    assert "Morgan Mod" in page.text and "invited" in page.text
    assert client.post(console(tenant, "staff/invite"), data={"email": email, "display_name": "Again",
                                                             "role": "host"}).status_code == 400   # already invited

    with tenant_scope(tenant.id) as tx:
        invited_id = tx.value("select id from staff_users where email = %s", [email])
    assert client.post(console(tenant, f"staff/{invited_id}/resend")).status_code == 302
    second_link = smtp_sink.link(email, "invited")      # the newest message
    assert second_link != first_link
    newcomer = app.test_client()
    assert newcomer.get(path_of(first_link)).status_code == 410         # resending retires the old link
    assert sign_in(newcomer, tenant, email).status_code == 400          # no password yet
    accept = newcomer.get(path_of(second_link))
    assert accept.status_code == 200 and "Morgan Mod" in accept.text
    assert newcomer.post(path_of(second_link), data={"password": "short"}).status_code == 400
    assert newcomer.post(path_of(second_link), data={"password": PASSWORD}).status_code == 302
    assert newcomer.post(path_of(second_link), data={"password": PASSWORD}).status_code == 410
    assert sign_in(newcomer, tenant, email).status_code == 302
    dashboard = newcomer.get(console(tenant))
    assert dashboard.status_code == 200 and "Morgan Mod" in dashboard.text
    assert newcomer.get(console(tenant, "staff")).status_code == 403   # moderators do not manage staff


def test_only_admins_invite_and_a_host_cannot_invite_an_admin(app_ctx, app, make_tenant, make_staff):
    tenant = make_tenant()
    host, moderator = make_staff(tenant, "host"), make_staff(tenant, "moderator")
    for actor in (host, moderator):
        with tenant_scope(tenant.id) as tx, pytest.raises(Forbidden, match="Only a tenant admin can invite staff"):
            staff_actions.invite_staff(tx, actor, email="new-admin@force.police.uk", display_name="New",
                                       role="admin", link_for=_link)
    client = app.test_client()
    assert sign_in(client, tenant, host.email).status_code == 302
    response = client.post(console(tenant, "staff/invite"),
                           data={"email": "new-admin@force.police.uk", "display_name": "New", "role": "admin"})
    assert response.status_code == 403
    with tenant_scope(tenant.id) as tx:
        assert tx.value("select count(*) from staff_users where email = 'new-admin@force.police.uk'") == 0


def test_role_changes_keep_an_admin_and_cannot_target_yourself(app_ctx, make_tenant, make_staff):
    tenant = make_tenant()
    admin, host = make_staff(tenant, "admin"), make_staff(tenant, "host")
    with tenant_scope(tenant.id) as tx:
        assert staff_actions.change_role(tx, admin, host.id, "admin")["role"] == "admin"
        with pytest.raises(Forbidden):
            staff_actions.change_role(tx, admin, admin.id, "moderator")
        with pytest.raises(Forbidden):
            staff_actions.remove_staff(tx, admin, admin.id)
        staff_actions.change_role(tx, admin, host.id, "moderator")
        with pytest.raises(Forbidden):
            staff_actions.change_role(tx, host, admin.id, "moderator")     # host is a moderator now
        actions = [r["action"] for r in tx.all("select action from audit_log where action like 'staff.role%%'")]
    assert actions == ["staff.role_changed", "staff.role_changed"]
    other = make_tenant()
    other_admin = make_staff(other, "admin")
    with tenant_scope(tenant.id) as tx, pytest.raises(NotFound):
        staff_actions.remove_staff(tx, admin, other_admin.id)              # another tenant's staff: not found
    # An admin acting from a stale session (already removed themselves) cannot leave the tenant without one.
    ghost = Staff(uuid.uuid4(), other.id, "gone@force.police.uk", "Gone", "", "admin")
    with tenant_scope(other.id) as tx, pytest.raises(Conflict, match="at least one admin"):
        staff_actions.change_role(tx, ghost, other_admin.id, "host")


def test_removing_a_staff_member_ends_their_page_and_live_sessions_at_once(app, make_world, live_pair, clients):
    world = make_world()
    admin_web, _ = admin_client(app, world.tenant, world.admin)
    moderator_web = app.test_client()
    assert sign_in(moderator_web, world.tenant, world.moderator.email).status_code == 302
    assert moderator_web.get(console(world.tenant)).status_code == 200
    live = clients(live_pair[0].url, world.staff_token(world.moderator), last_seq=world.room["last_seq"],
                   staff_last_seq=0)
    assert live.call("announce", {"body": "Before removal"})["ok"] is True

    assert admin_web.post(console(world.tenant, f"staff/{world.moderator.id}/remove")).status_code == 302

    assert moderator_web.get(console(world.tenant)).status_code == 302     # the cookie no longer works
    reply = live.call("announce", {"body": "After removal"})
    assert reply["ok"] is False and reply["error"] == "forbidden"
    with tenant_scope(world.tenant.id) as tx:
        assert tx.value("select count(*) from staff_sessions where staff_id = %s and revoked_at is null",
                        [world.moderator.id]) == 0
        assert tx.value("select count(*) from announcements where body = 'After removal'") == 0
        assert tx.value("select status from staff_users where id = %s", [world.moderator.id]) == "removed"
    assert sign_in(app.test_client(), world.tenant, world.moderator.email).status_code == 400


def test_a_panelist_link_opens_only_that_chat_and_only_their_questions(app, make_world, smtp_sink, live_pair):
    world = make_world()
    host_web = app.test_client()
    assert sign_in(host_web, world.tenant, world.host.email).status_code == 302     # hosts invite panelists
    email = f"sgt-{world.tenant.slug}@force.police.uk"
    page = host_web.post(console(world.tenant, f"rooms/{world.room['id']}/panelists"),
                         data={"email": email, "display_name": "Sgt Sam Patel", "title": "Neighbourhood Sergeant"})
    assert page.status_code == 200 and "Sgt Sam Patel" in page.text
    link = smtp_sink.link(email, "answer questions")
    assert link in page.text

    with tenant_scope(world.tenant.id) as tx:
        panelist_id = tx.value("select id from staff_users where email = %s", [email])
        resident = join_room(tx, world.room["id"], "Resident Rae", None)
        mine = live_actions.submit_question(tx, resident, "Handed to the sergeant")
        theirs = live_actions.submit_question(tx, resident, "Not handed to anyone")
        for q in (mine, theirs):
            live_actions.approve_question(tx, world.moderator, q["id"])
        live_actions.assign_question(tx, world.moderator, mine["id"], panelist_id)
    panel = app.test_client()
    landing = panel.get(path_of(link))
    assert landing.status_code == 200 and "Continue as Sgt Sam Patel" in landing.text
    opened = panel.post(path_of(link))
    assert opened.status_code == 302 and opened.location.endswith(f"/rooms/{world.room['id']}/host")
    view = panel.get(path_of(opened.location))
    assert view.status_code == 200
    assert "Handed to the sergeant" in view.text and "Not handed to anyone" not in view.text
    assert world.room["title"] in panel.get(console(world.tenant)).text

    for path in ("staff", "rooms/new", f"rooms/{world.room['id']}/moderate", f"rooms/{world.room['id']}/edit",
                 f"rooms/{world.room['id']}/panelists", "account"):
        assert panel.get(console(world.tenant, path)).status_code == 403, path
    base = console(world.tenant, f"rooms/{world.room['id']}/commands")
    panel.post(f"{base}/answer", data={"question_id": theirs["id"], "body": "Not mine to answer", "back": "host"})
    panel.post(f"{base}/answer", data={"question_id": mine["id"], "body": "We will patrol more.", "back": "host"})
    panel.post(f"{base}/announce", data={"body": "Panelists cannot announce"})
    with tenant_scope(world.tenant.id) as tx:
        answers = [r["body"] for r in tx.all("select body from answers where staff_id = %s", [panelist_id])]
        assert answers == ["We will patrol more."]
        assert tx.value("select count(*) from announcements where staff_id = %s", [panelist_id]) == 0
        with pytest.raises(Forbidden):
            live_actions.answer_question(tx, staff_by_id(tx, panelist_id), theirs["id"], "Direct call")

    # The live staff stream would show every pending question: panelists cannot connect to it.
    with pytest.raises(socketio.exceptions.ConnectionError):
        LiveClient(live_pair[0].url, world.token("staff", panelist_id)).connect()

    # Removing the panelist from the chat ends the session and the link.
    assert host_web.post(console(world.tenant, f"rooms/{world.room['id']}/panelists/{panelist_id}/remove")).status_code == 302
    assert panel.get(path_of(opened.location)).status_code == 302
    assert panel.get(path_of(link)).status_code == 410


def test_panelist_links_expire(app, make_world, smtp_sink):
    world = make_world()
    with tenant_scope(world.tenant.id) as tx:
        _, token = staff_actions.invite_panelist(tx, world.admin, world.room["id"], email="pc@force.police.uk",
                                                 display_name="PC Lee", link_for=_link)
        life = tx.value("select expires_at - created_at from auth_links where purpose = 'panelist'")
        assert life.days == 7
        tx.execute("update auth_links set expires_at = now() - interval '1 second' where purpose = 'panelist'")
    client = app.test_client()
    assert client.get(console(world.tenant, f"panel/{token}")).status_code == 410
    assert client.post(console(world.tenant, f"panel/{token}")).status_code == 410


def test_moderators_cannot_invite_panelists(app_ctx, make_world):
    world = make_world()
    with tenant_scope(world.tenant.id) as tx, pytest.raises(Forbidden):
        staff_actions.invite_panelist(tx, world.moderator, world.room["id"], email="pc@force.police.uk",
                                      display_name="PC Lee", link_for=_link)


def test_a_removed_panelist_invited_to_another_chat_does_not_regain_the_first(app_ctx, make_world):
    from services.rooms import actions as room_actions
    from tenants.roles import on_room

    world = make_world()
    with tenant_scope(world.tenant.id) as tx:
        row, _ = staff_actions.invite_panelist(tx, world.admin, world.room["id"], email="pc@force.police.uk",
                                               display_name="PC Lee", link_for=_link)
        staff_actions.remove_staff(tx, world.admin, row["id"])
        second = room_actions.create_room(tx, world.admin, {**{k: world.room[k] for k in ("starts_at", "ends_at")},
                                                            "title": "Second chat"})
        staff_actions.invite_panelist(tx, world.admin, second["id"], email="pc@force.police.uk",
                                      display_name="PC Lee", link_for=_link)
        panelist = staff_by_id(tx, row["id"])
        assert on_room(tx, panelist, second["id"]) and not on_room(tx, panelist, world.room["id"])
