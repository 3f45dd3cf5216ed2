"""OpenID Connect single sign-on against a real (minimal) provider on loopback."""
from __future__ import annotations

import pytest
import requests

from tenants.db import tenant_scope
from tests.support.console import admin_client, console, enable_totp, field_error, path_of, totp_code
from tests.support.oidc_provider import start_provider


@pytest.fixture(scope="module")
def provider():
    provider, server = start_provider()
    yield provider
    server.shutdown()


@pytest.fixture()
def sso_tenant(app, make_tenant, make_staff, provider):
    """A tenant whose admin turned SSO on through the settings page."""
    tenant = make_tenant()
    admin = make_staff(tenant, "admin")
    client, _ = admin_client(app, tenant, admin)
    saved = client.post(console(tenant, "settings/sso"), data={
        "sso_enabled": "on", "sso_issuer": provider.issuer, "sso_client_id": provider.client_id,
        "sso_client_secret": provider.client_secret})
    assert saved.status_code == 302, saved.text
    provider.tamper = None
    return tenant


def _sso(app, tenant, provider, user: dict):
    """Start at the sign-in button, let the provider answer, return (client, callback response)."""
    provider.user = user
    client = app.test_client()
    assert "Sign in with your organisation account" in client.get(console(tenant, "sign-in")).text
    start = client.get(console(tenant, "sso/start"))
    assert start.status_code == 302 and start.location.startswith(f"{provider.issuer}/authorize?")
    assert "code_challenge=" in start.location and "nonce=" in start.location
    back = requests.get(start.location, allow_redirects=False, timeout=5)
    assert back.status_code == 302
    return client, client.get(path_of(back.headers["Location"]))


def test_a_verified_email_signs_in_an_existing_staff_member(app, sso_tenant, make_staff, provider):
    moderator = make_staff(sso_tenant, "moderator")
    client, response = _sso(app, sso_tenant, provider, {"email": moderator.email.upper(), "email_verified": True})
    assert response.status_code == 302 and response.location.endswith(console(sso_tenant))
    assert client.get(console(sso_tenant)).status_code == 200
    with tenant_scope(sso_tenant.id) as tx:
        row = tx.one("select details from audit_log where action = 'staff.signed_in' and actor_id = %s", [moderator.id])
    assert row["details"] == {"method": "oidc"}


def test_entra_style_xms_edov_counts_as_verified_and_totp_still_applies(app, sso_tenant, make_staff, provider):
    host = make_staff(sso_tenant, "host")
    secret = enable_totp(sso_tenant, host)
    client, response = _sso(app, sso_tenant, provider, {"email": host.email, "xms_edov": True})
    assert response.status_code == 302 and "/console/sign-in/code" in response.location
    assert client.get(console(sso_tenant)).status_code == 302
    done = client.post(path_of(response.location), data={"code": totp_code(secret)})
    assert done.status_code == 302 and client.get(console(sso_tenant)).status_code == 200


@pytest.mark.parametrize("user, message", [
    ({"email": "stranger@force.police.uk", "email_verified": True}, "no active staff account here"),
    ({"email": "unverified@force.police.uk", "email_verified": False}, "did not confirm an email"),
])
def test_unknown_or_unverified_emails_are_refused(app, sso_tenant, make_staff, provider, user, message):
    if user["email"].startswith("unverified"):
        make_staff(sso_tenant, "moderator", email=user["email"])      # exists, but the email is not verified
    client, response = _sso(app, sso_tenant, provider, user)
    assert response.status_code == 302 and response.location.endswith("/console/sign-in")
    assert message in client.get(path_of(response.location)).text
    assert client.get(console(sso_tenant)).status_code == 302
    with tenant_scope(sso_tenant.id) as tx:
        assert tx.value("select count(*) from audit_log where action = 'staff.sso_refused'") == 1


@pytest.mark.parametrize("tamper", ["audience", "nonce", "expired", "signature", "issuer"])
def test_id_tokens_that_fail_any_check_are_refused(app, sso_tenant, make_staff, provider, tamper):
    moderator = make_staff(sso_tenant, "moderator")
    provider.tamper = tamper
    client, response = _sso(app, sso_tenant, provider, {"email": moderator.email, "email_verified": True})
    assert response.status_code == 302 and response.location.endswith("/console/sign-in")
    assert "could not be verified" in client.get(path_of(response.location)).text
    assert client.get(console(sso_tenant)).status_code == 302


def test_a_callback_without_its_own_start_is_refused(app, sso_tenant, make_staff, provider):
    moderator = make_staff(sso_tenant, "moderator")
    provider.user = {"email": moderator.email, "email_verified": True}
    attacker = app.test_client()
    start = attacker.get(console(sso_tenant, "sso/start"))
    back = requests.get(start.location, allow_redirects=False, timeout=5)
    victim = app.test_client()                         # login CSRF: someone else's callback URL
    response = victim.get(path_of(back.headers["Location"]))
    assert response.status_code == 302 and response.location.endswith("/console/sign-in")
    assert victim.get(console(sso_tenant)).status_code == 302
    forged = attacker.get(path_of(back.headers["Location"]).replace("state=", "state=x"))
    assert forged.status_code == 302 and attacker.get(console(sso_tenant)).status_code == 302


def test_sso_settings_are_checked_and_off_by_default(app, make_tenant, make_staff, provider):
    tenant = make_tenant()
    client, _ = admin_client(app, tenant, make_staff(tenant, "admin"))
    assert client.get(console(tenant, "sso/start")).status_code == 404
    assert "organisation account" not in app.test_client().get(console(tenant, "sign-in")).text
    bad = client.post(console(tenant, "settings/sso"), data={"sso_enabled": "on", "sso_issuer": "http://idp.example",
                                                             "sso_client_id": "x", "sso_client_secret": "y"})
    assert bad.status_code == 400 and "https://" in field_error(bad.text, "sso_issuer")
    missing = client.post(console(tenant, "settings/sso"), data={"sso_enabled": "on", "sso_issuer": provider.issuer})
    assert missing.status_code == 400 and field_error(missing.text, "sso_client_id")
    wrong = client.post(console(tenant, "settings/sso"), data={
        "sso_enabled": "on", "sso_issuer": provider.issuer + "/nothing-here", "sso_client_id": "x",
        "sso_client_secret": "y"})
    assert wrong.status_code == 400 and "could not read the OpenID configuration" in field_error(wrong.text, "sso_issuer")
    ok = client.post(console(tenant, "settings/sso"), data={
        "sso_enabled": "on", "sso_issuer": provider.issuer, "sso_client_id": provider.client_id,
        "sso_client_secret": provider.client_secret})
    assert ok.status_code == 302
    page = client.get(console(tenant, "settings")).text
    assert provider.client_secret not in page                       # the secret is never shown again
    kept = client.post(console(tenant, "settings/sso"), data={
        "sso_enabled": "on", "sso_issuer": provider.issuer, "sso_client_id": provider.client_id})
    assert kept.status_code == 302
    with tenant_scope(tenant.id) as tx:
        assert tx.value("select settings->'sso'->>'client_secret' from tenants") == provider.client_secret
        details = tx.value("select details from audit_log where action = 'settings.sso_updated' order by id desc limit 1")
    assert "client_secret" not in details and details["secret_changed"] is False
