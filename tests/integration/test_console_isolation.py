"""Tenant isolation on every console URL: a moderator of tenant A never sees tenant B's data."""
from __future__ import annotations

import re
import uuid

from services.live import actions as live_actions
from tenants import staff as staff_actions
from tenants.db import tenant_scope
from tests.support.console import console, sign_in

# Pages anyone may open (sign-in and emailed-link pages); they show no tenant data before sign-in.
PUBLIC = {"console.sign_in", "console.sign_in_code", "console.forgot_password", "console.reset_password",
          "console.accept_invitation", "console.panelist_link", "console.sso_start", "console.sso_callback"}


def _console_rules(app):
    return sorted((r for r in app.url_map.iter_rules() if r.endpoint.startswith("console.")), key=lambda r: r.rule)


def _fill(rule, slug: str, ids: dict) -> str:
    """Tenant B's real ids where the test made them; any other id is one B could hold (a fresh uuid)."""
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: slug if m.group(1) == "tenant"
                  else str(ids.get(m.group(1), uuid.uuid4())), rule.rule)


def test_a_moderator_of_tenant_a_gets_403_or_404_for_every_console_url_of_tenant_b(app, make_world):
    a, b = make_world(), make_world(title="Tenant B private chat")
    with tenant_scope(b.tenant.id) as tx:
        live_actions.submit_question(tx, b.join("Bea"), "Secret question of tenant B")
        _, b_invite = staff_actions.invite_staff(tx, b.admin, email="b-newcomer@force.police.uk",
                                                 display_name="B Newcomer", role="host", link_for=str)
    b_secrets = ["Tenant B private chat", "Secret question of tenant B", b.moderator.email, b.admin.email,
                 "b-newcomer@force.police.uk"]
    b_ids = {"room_id": b.room["id"], "staff_id": b.moderator.id, "token": b_invite, "name": "approve"}
    intruder = app.test_client()
    assert sign_in(intruder, a.tenant, a.moderator.email).status_code == 302
    token = intruder.get_cookie("th_staff", path=f"/t/{a.tenant.slug}/").value

    checked = 0
    for rule in _console_rules(app):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            # 1. Tenant A's own URLs with tenant B's ids: not found (or not allowed), never B's data.
            if set(rule.arguments) & {"room_id", "staff_id", "token"}:
                response = intruder.open(_fill(rule, a.tenant.slug, b_ids), method=method)
                assert response.status_code in (403, 404, 410), (rule.rule, method, response.status_code)
                assert not any(s in response.text for s in b_secrets), (rule.rule, method)
            # 2. Tenant B's URLs presenting A's session cookie: it means nothing there.
            intruder.set_cookie("th_staff", token, path=f"/t/{b.tenant.slug}/")
            # (B's real invitation link on B's host belongs to its holder: use a guessed token there.)
            response = intruder.open(_fill(rule, b.tenant.slug, {**b_ids, "token": "guessed-token"}), method=method)
            intruder.delete_cookie("th_staff", path=f"/t/{b.tenant.slug}/")
            if rule.endpoint in PUBLIC:
                assert response.status_code in (200, 302, 400, 404, 410), (rule.rule, method, response.status_code)
            else:
                assert response.status_code == 302 and "/console/sign-in" in response.location, (rule.rule, method)
            assert not any(s in response.text for s in b_secrets), (rule.rule, method)
            checked += 1
    assert checked >= 40
    with tenant_scope(b.tenant.id) as tx:    # and nothing in B changed
        assert tx.value("select status from questions where body = 'Secret question of tenant B'") == "pending"
        assert tx.value("select count(*) from staff_users where status = 'active'") == 3
        assert tx.value("select count(*) from audit_log where actor_id = %s", [a.moderator.id]) == 0


def test_a_moderator_cannot_reach_admin_pages_of_their_own_tenant(app, make_world):
    world = make_world()
    client = app.test_client()
    assert sign_in(client, world.tenant, world.moderator.email).status_code == 302
    for path in ("staff", "settings", "audit", "audit.csv", f"rooms/{world.room['id']}/panelists"):
        assert client.get(console(world.tenant, path)).status_code == 403, path
    for path in (f"staff/{world.host.id}/remove", f"staff/{world.host.id}/role", "staff/invite", "settings/defaults",
                 "settings/logo"):
        assert client.post(console(world.tenant, path), data={"role": "admin", "email": "x@force.police.uk",
                                                               "display_name": "X"}).status_code == 403, path
    with tenant_scope(world.tenant.id) as tx:
        assert tx.value("select role from staff_users where id = %s", [world.host.id]) == "host"
