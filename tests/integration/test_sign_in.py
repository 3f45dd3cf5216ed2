"""Staff sign-in: lockout, TOTP (required for admins), password reset, sessions."""
from __future__ import annotations

import re

from tenants.db import tenant_scope
from tests.support.console import (PASSWORD, console, enable_totp, field_error, path_of, sign_in, totp_code)


def _audit(tenant, staff_id) -> list[str]:
    with tenant_scope(tenant.id) as tx:
        return [r["action"] for r in tx.all("select action from audit_log where actor_id = %s order by id",
                                            [staff_id])]


def test_ten_wrong_passwords_lock_the_account_and_are_audited(app, make_tenant, make_staff):
    tenant = make_tenant()
    moderator = make_staff(tenant, "moderator")
    client = app.test_client()
    for attempt in range(10):
        response = sign_in(client, tenant, moderator.email, password=f"wrong-password-{attempt}")
        assert response.status_code == 400
    locked = sign_in(client, tenant, moderator.email)          # the right password, too late
    assert locked.status_code == 429 and "locked for 15 minutes" in locked.text
    assert int(locked.headers["Retry-After"]) == 15 * 60
    assert _audit(tenant, moderator.id) == ["staff.sign_in_failed"] * 9 + ["staff.sign_in_locked"]
    with tenant_scope(tenant.id) as tx:
        row = tx.one("select locked_until > now() + interval '14 minutes' as locked, ip from audit_log"
                     " join staff_users u on u.id = audit_log.actor_id where action = 'staff.sign_in_locked'"
                     " and u.id = %s", [moderator.id])
        assert row["locked"] is True and str(row["ip"]) == "127.0.0.1"
        tx.execute("update staff_users set locked_until = now() - interval '1 second' where id = %s", [moderator.id])
    assert sign_in(client, tenant, moderator.email).status_code == 302      # the lock lifts after its period


def test_totp_is_asked_after_the_password_and_each_code_works_once(app, make_tenant, make_staff):
    tenant = make_tenant()
    host = make_staff(tenant, "host")
    secret = enable_totp(tenant, host)
    client = app.test_client()
    first = client.post(console(tenant, "sign-in"), data={"email": host.email, "password": PASSWORD})
    assert first.status_code == 302 and "/console/sign-in/code" in first.location
    assert client.get(console(tenant)).status_code == 302            # not signed in until the code is given
    wrong = client.post(path_of(first.location), data={"code": "000000"})
    assert wrong.status_code == 400 and "not right" in field_error(wrong.text, "code")
    code = totp_code(secret)
    ok = client.post(path_of(first.location), data={"code": code})
    assert ok.status_code == 302 and ok.location.endswith(console(tenant))
    assert client.get(console(tenant)).status_code == 200
    assert _audit(tenant, host.id)[-2:] == ["staff.sign_in_failed", "staff.signed_in"]

    replay = app.test_client()
    step = replay.post(console(tenant, "sign-in"), data={"email": host.email, "password": PASSWORD})
    assert replay.post(path_of(step.location), data={"code": code}).status_code == 400   # same code again


def test_an_admin_without_totp_must_set_it_up_before_anything_else(app, make_tenant, make_staff):
    tenant = make_tenant()
    admin = make_staff(tenant, "admin")
    client = app.test_client()
    response = sign_in(client, tenant, admin.email)
    assert response.status_code == 302 and "/console/account/two-step" in response.location
    assert client.get(console(tenant)).status_code == 302            # a set-up session is not a full one
    page = client.get(console(tenant, "account/two-step"))
    assert page.status_code == 200 and 'src="data:image/svg+xml' in page.text
    uri = re.search(r'data-totp-uri>(otpauth://totp/[^<]+)<', page.text).group(1)
    secret = re.search(r"data-totp-secret>([A-Z2-7]+)<", page.text).group(1)
    assert f"secret={secret}" in uri and "issuer=Townhall" in uri
    assert client.get(console(tenant, "account/two-step")).text.count(secret) >= 1   # a reload keeps the secret
    bad = client.post(console(tenant, "account/two-step"), data={"code": "12345"})
    assert bad.status_code == 400 and field_error(bad.text, "code")
    done = client.post(console(tenant, "account/two-step"), data={"code": totp_code(secret)})
    assert done.status_code == 302
    assert client.get(console(tenant)).status_code == 200
    assert "staff.totp_enabled" in _audit(tenant, admin.id)
    # From now on the admin is asked for a code; admins cannot turn it off.
    again = app.test_client()
    assert "/sign-in/code" in sign_in(again, tenant, admin.email).location
    assert sign_in(again, tenant, admin.email, secret=secret, steps_ahead=1).status_code == 302
    refused = client.post(console(tenant, "account/two-step/disable"), follow_redirects=True)
    assert "Admins must keep two-step verification on." in refused.text


def test_an_admin_whose_totp_was_removed_is_sent_back_to_set_up(app, make_tenant, make_staff):
    tenant = make_tenant()
    admin = make_staff(tenant, "admin")
    from tests.support.console import admin_client
    client, _ = admin_client(app, tenant, admin)
    with tenant_scope(tenant.id) as tx:
        tx.execute("update staff_users set totp_secret = null where id = %s", [admin.id])
    response = client.get(console(tenant, "staff"))
    assert response.status_code == 302 and "/account/two-step" in response.location


def test_reset_link_works_once_expires_and_ends_sessions(app, make_tenant, make_staff, smtp_sink):
    tenant = make_tenant()
    moderator = make_staff(tenant, "moderator")
    old_session = app.test_client()
    assert sign_in(old_session, tenant, moderator.email).status_code == 302
    client = app.test_client()
    sent = client.post(console(tenant, "forgot-password"), data={"email": moderator.email.upper()})
    assert sent.status_code == 200 and "Check your email" in sent.text
    unknown = client.post(console(tenant, "forgot-password"), data={"email": "nobody@force.police.uk"})
    assert unknown.status_code == 200 and unknown.text.count("Check your email") == sent.text.count("Check your email")
    assert smtp_sink.to("nobody@force.police.uk") == []
    link = smtp_sink.link(moderator.email, "reset your townhall password")
    assert "expires in 1 hour" in smtp_sink.text(smtp_sink.wait_for(moderator.email, "reset"))

    assert client.get(path_of(link)).status_code == 200
    short = client.post(path_of(link), data={"password": "tiny"})
    assert short.status_code == 400 and field_error(short.text, "password")
    new_password = "a-brand-new-long-password"
    assert client.post(path_of(link), data={"password": new_password}).status_code == 302
    assert client.post(path_of(link), data={"password": "another-long-password"}).status_code == 410   # once
    assert old_session.get(console(tenant)).status_code == 302                   # signed out everywhere
    assert sign_in(client, tenant, moderator.email).status_code == 400            # the old password is gone
    assert sign_in(client, tenant, moderator.email, password=new_password).status_code == 302

    client.post(console(tenant, "forgot-password"), data={"email": moderator.email})
    expiring = smtp_sink.link(moderator.email, "reset your townhall password")
    assert expiring != link
    with tenant_scope(tenant.id) as tx:
        life = tx.value("select expires_at - created_at from auth_links where purpose = 'reset' and used_at is null")
        assert life.total_seconds() == 3600
        tx.execute("update auth_links set expires_at = now() - interval '1 second' where purpose = 'reset'")
    assert client.get(path_of(expiring)).status_code == 410
    assert client.post(path_of(expiring), data={"password": "yet-another-long-password"}).status_code == 410


def test_sessions_expire_and_sign_out_everywhere_ends_them_all(app, make_tenant, make_staff):
    tenant = make_tenant()
    host = make_staff(tenant, "host")
    laptop, phone = app.test_client(), app.test_client()
    for c in (laptop, phone):
        assert sign_in(c, tenant, host.email).status_code == 302
        assert c.get(console(tenant)).status_code == 200
    with tenant_scope(tenant.id) as tx:
        life = tx.value("select max(expires_at - created_at) from staff_sessions where staff_id = %s", [host.id])
        assert life.total_seconds() == 12 * 3600
    assert phone.post(console(tenant, "account/sign-out-everywhere")).status_code == 302
    assert laptop.get(console(tenant)).status_code == 302 and phone.get(console(tenant)).status_code == 302
    assert "staff.signed_out_everywhere" in _audit(tenant, host.id)

    assert sign_in(laptop, tenant, host.email).status_code == 302
    with tenant_scope(tenant.id) as tx:
        tx.execute("update staff_sessions set expires_at = now() - interval '1 second' where staff_id = %s", [host.id])
    assert laptop.get(console(tenant)).status_code == 302

