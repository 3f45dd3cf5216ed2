"""The platform console over HTTP: served only on the platform host, TOTP mandatory, 403 for
everyone else (tenant admins included); suspension within one request; the participant limit."""
from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from services.rooms import actions as room_actions
from tenants.db import tenant_scope
from tests.support.console import admin_client, console, totp_code
from tests.support.servers import ROOT

PLATFORM_GETS = ["/platform/", "/platform/audit", "/platform/api/tenants", "/platform/tenants/{t}",
                 "/platform/tenants/{t}/invoices/00000000-0000-0000-0000-000000000000.pdf",
                 "/platform/tenants/{t}/exports/00000000-0000-0000-0000-000000000000.zip"]
PLATFORM_POSTS = ["/platform/tenants/{t}/state", "/platform/tenants/{t}/billing",
                  "/platform/tenants/{t}/invoices/00000000-0000-0000-0000-000000000000/status",
                  "/platform/tenants/{t}/invoices/00000000-0000-0000-0000-000000000000/credit"]


def platform_client(app, admin_email, password, secret):
    client = app.test_client()
    response = client.post("/platform/sign-in", data={"email": admin_email, "password": password})
    assert response.status_code == 302 and response.location.endswith("/platform/sign-in/code")
    response = client.post("/platform/sign-in/code", data={"code": totp_code(secret)})
    assert response.status_code == 302 and response.location.endswith("/platform/"), response.location
    return client


def test_cli_admin_must_set_up_totp_at_first_sign_in(app, env):
    out = subprocess.run([sys.executable, "-m", "services.cli", "create-platform-admin", "first-op@townhall.example"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    password = re.search(r"One-time password \(shown once\): (\S+)", out.stdout).group(1)
    client = app.test_client()
    response = client.post("/platform/sign-in", data={"email": "first-op@townhall.example", "password": password})
    assert response.status_code == 302 and response.location.endswith("/platform/two-step")
    assert client.get("/platform/").status_code == 403            # not a full session yet
    page = client.get("/platform/two-step").get_data(as_text=True)
    secret = re.search(r"data-totp-secret>([A-Z2-7]+)<", page).group(1)
    assert client.post("/platform/two-step", data={"code": "000000"}).status_code in (400, 403)
    response = client.post("/platform/two-step", data={"code": totp_code(secret)})
    assert response.status_code == 302
    assert client.get("/platform/").status_code == 200
    cookie = client.get_cookie("th_platform", path="/platform/")
    assert cookie is not None and cookie.http_only


def test_tenant_admin_gets_403_everywhere_and_tenant_host_never_serves_the_console(app, make_tenant, make_staff,
                                                                                   platform_admin):
    admin, password, secret = platform_admin
    tenant = make_tenant()
    tenant_admin = make_staff(tenant, "admin")
    staff_client, _ = admin_client(app, tenant, tenant_admin)
    assert staff_client.get(console(tenant)).status_code == 200   # really signed in as a tenant admin
    for path in PLATFORM_GETS:
        assert staff_client.get(path.format(t=tenant.id)).status_code == 403, path
    for path in PLATFORM_POSTS:
        assert staff_client.post(path.format(t=tenant.id), data={"action": "suspend"}).status_code == 403, path
    api = staff_client.get("/platform/api/tenants", headers={"Accept": "application/json"})
    assert api.status_code == 403 and api.get_json()["error"] == "forbidden"
    refused = staff_client.post("/platform/sign-in", data={"email": tenant_admin.email, "password": "correct-horse-battery"})
    assert refused.status_code == 403
    # A real platform admin, on a tenant's host: the console does not exist there.
    ops = platform_client(app, admin.email, password, secret)
    tenant_host = {"Host": f"{tenant.slug}.localhost"}
    for path in ("/platform/", "/platform/sign-in", f"/platform/tenants/{tenant.id}"):
        assert ops.get(path, headers=tenant_host).status_code == 404, path
    assert ops.get("/platform/").status_code == 200
    with tenant_scope(tenant.id) as tx:
        assert tx.value("select state from tenants where id = %s", [tenant.id]) == "active"


def test_suspend_pauses_residents_and_rooms_within_one_request_then_reactivate(app, make_world, platform_admin):
    admin, password, secret = platform_admin
    world = make_world(state="scheduled")
    ops = platform_client(app, admin.email, password, secret)
    resident = app.test_client()
    home = f"/t/{world.tenant.slug}/"
    assert resident.get(home).status_code == 200
    listing = ops.get(f"/platform/?q={world.tenant.slug}").get_data(as_text=True)
    assert world.tenant.name in listing and "scheduled" not in listing

    assert ops.post(f"/platform/tenants/{world.tenant.id}/state", data={"action": "suspend"}).status_code == 302
    paused = resident.get(home)
    assert paused.status_code == 503 and "This service is paused" in paused.get_data(as_text=True)
    assert resident.get(f"{home}rooms/{world.room['id']}").status_code == 503
    assert resident.post(f"{home}rooms/{world.room['id']}/join", data={"display_name": "Sam"}).status_code == 503
    staff, _ = admin_client(app, world.tenant, world.admin)           # staff can still sign in
    opened = staff.post(console(world.tenant, f"rooms/{world.room['id']}/commands/room_state"),
                        data={"state": "live", "back": "host"}, follow_redirects=True)
    assert "This service is paused by the platform" in opened.get_data(as_text=True)
    with tenant_scope(world.tenant.id) as tx:
        assert tx.value("select state from rooms where id = %s", [world.room["id"]]) == "scheduled"
        actions = [r["action"] for r in tx.all("select action from audit_log where actor_kind = 'platform'")]
    assert "tenant.suspended" in actions
    assert staff.get(console(world.tenant, "usage")).status_code == 200   # and reach their export page

    assert ops.post(f"/platform/tenants/{world.tenant.id}/state", data={"action": "reactivate"}).status_code == 302
    assert resident.get(home).status_code == 200
    log = ops.get("/platform/audit").get_data(as_text=True)
    assert log.index("tenant.reactivated") < log.index("tenant.suspended") and admin.email in log


def test_concurrent_participant_limit_refuses_the_next_resident_kindly(app, stack, make_world):
    with psycopg.connect(stack.owner_url, autocommit=True) as conn:
        conn.execute("insert into plans (name, label, monthly_price_pence, rooms_per_month, participants_per_room,"
                     " staff_seats, caption_minutes, storage_mb) values ('tiny-two', 'Tiny', 100, 5, 2, 5, 0, 10)"
                     " on conflict do nothing")
    world = make_world(state="live")
    with tenant_scope(world.tenant.id) as tx:
        tx.execute("update tenants set plan = 'tiny-two' where id = %s", [world.tenant.id])
    room = f"/t/{world.tenant.slug}/rooms/{world.room['id']}"
    first, second, third = app.test_client(), app.test_client(), app.test_client()
    for client, name in ((first, "Alpha One"), (second, "Beta Two")):
        assert client.post(f"{room}/join", data={"display_name": name}).location.endswith("#ask")
    refused = third.post(f"{room}/join", data={"display_name": "Gamma Three"}, follow_redirects=True)
    assert "This chat is full. You can read the transcript here after it closes." in refused.get_data(as_text=True)
    asked = first.post(f"{room}/questions", data={"body": "When will the station reopen?"}, follow_redirects=True)
    assert "Your question is waiting for a moderator" in asked.get_data(as_text=True)
    assert "Beta Two" in second.get(room).get_data(as_text=True)      # still in, and joins again freely
    with tenant_scope(world.tenant.id) as tx:
        assert tx.value("select count(*) from participants where room_id = %s", [world.room["id"]]) == 2


def test_room_and_seat_limits_name_the_limit_and_how_to_raise_it(app_ctx, make_world, make_staff):
    from tenants import staff as staff_actions
    from tenants.errors import LimitReached

    world = make_world(state="draft")   # trial plan: 10 chats a month (hard cap), 10 seats
    start = datetime(2027, 3, 10, 18, tzinfo=timezone.utc)
    with tenant_scope(world.tenant.id) as tx:
        for i in range(10):
            room_actions.create_room(tx, world.admin, {"title": f"March chat {i}", "starts_at": start,
                                                       "ends_at": start + timedelta(hours=1)})
    with pytest.raises(LimitReached) as exc, tenant_scope(world.tenant.id) as tx:
        room_actions.create_room(tx, world.admin, {"title": "One too many", "starts_at": start,
                                                   "ends_at": start + timedelta(hours=1)})
    assert "includes 10 chats a month" in exc.value.message and "Contact Townhall to move to a larger plan" in exc.value.message
    for i in range(7):
        make_staff(world.tenant, "moderator")                       # 3 (make_world) + 7 = 10 seats
    with pytest.raises(LimitReached) as exc, tenant_scope(world.tenant.id) as tx:
        staff_actions.invite_staff(tx, world.admin, email="extra@force.police.uk", display_name="Extra",
                                   role="moderator", link_for=lambda token: token)
    assert "10 staff seats" in exc.value.message and "larger plan" in exc.value.message


def test_invoice_actions_over_http_and_each_tenant_sees_only_its_own_invoices(app, make_tenant, make_staff,
                                                                            platform_admin):
    from datetime import date

    from workers import billing as billing_jobs

    admin, password, secret = platform_admin
    mine, theirs = make_tenant(), make_tenant()
    my_admin, their_admin = make_staff(mine, "admin"), make_staff(theirs, "admin")
    me, _ = admin_client(app, mine, my_admin)
    assert me.post(console(mine, "billing-details"), data={"billing_email": "ap@force.police.uk",
                                                          "po_number": "PO-2026-55"}).status_code == 302
    assert me.post(console(mine, "billing-details"), data={"billing_email": "not-an-email"},
                   follow_redirects=True).status_code == 200            # a message, not a 500
    with tenant_scope(mine.id) as tx:
        tx.execute("update tenants set plan = 'standard' where id = %s", [mine.id])
        assert tx.value("select po_number from tenants where id = %s", [mine.id]) == "PO-2026-55"
    invoice = billing_jobs.invoice_tenant(mine.id, date(2026, 5, 1), datetime(2026, 6, 1, tzinfo=timezone.utc))
    assert invoice["po_number"] == "PO-2026-55" and invoice["billing_email"] == "ap@force.police.uk"

    pdf = me.get(console(mine, f"invoices/{invoice['id']}.pdf"))
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    them, _ = admin_client(app, theirs, their_admin)
    assert them.get(console(theirs, f"invoices/{invoice['id']}.pdf")).status_code == 404   # another tenant's
    assert them.get(console(mine, f"invoices/{invoice['id']}.pdf")).status_code in (302, 403, 404)

    ops = platform_client(app, admin.email, password, secret)
    base = f"/platform/tenants/{mine.id}/invoices/{invoice['id']}"
    assert ops.get(f"{base}.csv").status_code == 200
    assert ops.get(f"/platform/tenants/{theirs.id}/invoices/{invoice['id']}.csv").status_code == 404
    bad = ops.post(f"{base}/credit", data={"amount_pence": "lots", "reason": "x"}, follow_redirects=True)
    assert bad.status_code == 200 and "whole number of pence" in bad.get_data(as_text=True)
    assert ops.post(f"{base}/credit", data={"amount_pence": "2500", "reason": "Late start"}).status_code == 302
    assert ops.post(f"{base}/status", data={"status": "paid"}).status_code == 302
    page = ops.get(f"/platform/tenants/{mine.id}").get_data(as_text=True)
    assert "CN-2026-" in page and "paid" in page
    with tenant_scope(mine.id) as tx:
        note = tx.one("select total_pence, pdf is not null as has_pdf from invoices where kind = 'credit_note'")
        actions = {r["action"] for r in tx.all("select action from audit_log where actor_kind = 'platform'")}
    assert note == {"total_pence": -3000, "has_pdf": True}
    assert {"invoice.credit_note", "invoice.paid"} <= actions


def test_platform_sign_in_locks_after_repeated_failures_and_codes_work_once(app, platform_admin):
    admin, password, secret = platform_admin
    client = app.test_client()
    for _ in range(10):
        assert client.post("/platform/sign-in", data={"email": admin.email, "password": "wrong-password-x"}).status_code == 403
    locked = client.post("/platform/sign-in", data={"email": admin.email, "password": password})
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0 and "locked for 15 minutes" in locked.get_data(as_text=True)
    from tenants.db import unscoped
    with unscoped() as tx:
        tx.execute("update platform_admins set locked_until = null where id = %s", [admin.id])
        assert tx.value("select count(*) from platform_audit where admin_id = %s"
                        " and action = 'platform_admin.sign_in_failed'", [admin.id]) == 10
    code = totp_code(secret)
    for attempt_no, expected in ((1, 302), (2, 400)):       # the same code twice: it works once
        client = app.test_client()
        client.post("/platform/sign-in", data={"email": admin.email, "password": password})
        response = client.post("/platform/sign-in/code", data={"code": code})
        assert response.status_code == expected, attempt_no
    assert "not right" in response.get_data(as_text=True)
    again = client
    assert again.get("/platform/").status_code == 403
