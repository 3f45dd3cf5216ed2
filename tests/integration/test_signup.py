"""Self-provisioning: sign-up on the platform host, the emailed one-time link, approval."""
from __future__ import annotations

import hashlib
import uuid

from click.testing import CliRunner

from services.commands import cli
from tenants.auth import sign_in
from tenants.db import tenant_scope
from tenants.resolution import tenant_by_slug
from tests.support.console import PASSWORD, field_error, path_of


def _signup(client, slug, email, **extra):
    return client.post("/signup", data={"organisation": "Office of the PCC for Testshire", "slug": slug,
                                        "contact_name": "Casey Contact", "email": email, **extra})


def _slug() -> str:
    return f"opcc-{uuid.uuid4().hex[:8]}"


def test_sign_up_verify_once_and_approve(app_ctx, client, smtp_sink, env):
    slug, email = _slug(), f"casey-{uuid.uuid4().hex[:6]}@testshire.pcc.police.uk"
    response = _signup(client, slug, email)
    assert response.status_code == 200 and "Check your email" in response.text
    tenant = tenant_by_slug(slug)
    assert tenant.state == "pending"
    assert client.get(f"/t/{slug}/").status_code == 404          # pending tenants do not exist publicly
    assert client.get(f"/t/{slug}/console/sign-in").status_code == 404

    link = smtp_sink.link(email, "confirm your townhall sign-up")
    page = client.get(path_of(link))
    assert page.status_code == 200 and email in page.text
    with tenant_scope(tenant.id) as tx:   # only the hash is stored
        stored = tx.one("select token_hash, expires_at - created_at as life from auth_links where purpose = 'signup'")
    assert stored["token_hash"] == hashlib.sha256(link.rsplit("/", 1)[1].encode()).digest()
    assert stored["life"].total_seconds() == 24 * 3600

    short = client.post(path_of(link), data={"password": "short"})
    assert short.status_code == 400 and "at least 12 characters" in field_error(short.text, "password")
    assert tenant_by_slug(slug).state == "pending"

    done = client.post(path_of(link), data={"password": PASSWORD})
    assert done.status_code == 302 and done.location.endswith(f"/t/{slug}/console/sign-in")
    assert tenant_by_slug(slug).state == "trial"
    with tenant_scope(tenant.id) as tx:
        admin = tx.one("select role, display_name, status from staff_users where email = %s", [email])
        assert admin == {"role": "admin", "display_name": "Casey Contact", "status": "active"}
        assert sign_in(tx, email=email, password=PASSWORD, ip=None).stage == "setup"   # TOTP comes next
        actions = [r["action"] for r in tx.all("select action from audit_log order by id")]
    assert actions[:3] == ["tenant.created", "tenant.signup_requested", "tenant.verified"]

    again = client.post(path_of(link), data={"password": PASSWORD})
    assert again.status_code == 410 and client.get(path_of(link)).status_code == 410

    result = CliRunner().invoke(cli, ["approve-tenant", slug, "--plan", "standard"], env=env)
    assert result.exit_code == 0, result.output
    assert tenant_by_slug(slug).state == "active"
    with tenant_scope(tenant.id) as tx:
        assert tx.one("select settings->>'plan' as s, plan from tenants") == {"s": "standard", "plan": "standard"}
        assert tx.value("select actor_kind from audit_log where action = 'tenant.approved'") == "platform"


def test_other_domains_are_refused_until_the_platform_grants_an_override(app_ctx, client, smtp_sink, env):
    slug, email = _slug(), f"pcc-{uuid.uuid4().hex[:6]}@testshire.gov.uk"
    refused = _signup(client, slug, email)
    assert refused.status_code == 400
    assert "own domain (ending police.uk or pcc.police.uk)" in field_error(refused.text, "email")
    assert 'href="#email"' in refused.text     # the error summary links to the field
    assert tenant_by_slug(slug) is None and smtp_sink.to(email) == []
    # A look-alike domain is not a suffix match.
    assert _signup(client, slug, f"x-{uuid.uuid4().hex[:4]}@notpolice.uk").status_code == 400

    result = CliRunner().invoke(cli, ["grant-signup-override", email.upper()], env=env)
    assert result.exit_code == 0, result.output
    assert _signup(client, slug, email).status_code == 200
    assert tenant_by_slug(slug).state == "pending" and smtp_sink.wait_for(email, "confirm")


def test_bad_and_taken_addresses_say_what_to_fix(app_ctx, client, make_tenant):
    taken = make_tenant()
    cases = {taken.slug: "already taken", "Bad Slug!": "lower-case letters", "ab": "lower-case letters",
             "admin": "reserved"}
    for slug, message in cases.items():
        response = _signup(client, slug, f"x-{uuid.uuid4().hex[:6]}@force.police.uk")
        assert response.status_code == 400 and message in field_error(response.text, "slug"), slug
    missing = client.post("/signup", data={})
    assert missing.status_code == 400 and field_error(missing.text, "organisation")


def test_an_expired_verification_link_does_not_work(app_ctx, client, smtp_sink):
    slug, email = _slug(), f"late-{uuid.uuid4().hex[:6]}@force.police.uk"
    _signup(client, slug, email)
    link = smtp_sink.link(email, "confirm")
    with tenant_scope(tenant_by_slug(slug).id) as tx:
        tx.execute("update auth_links set expires_at = now() - interval '1 second'")
    assert client.post(path_of(link), data={"password": PASSWORD}).status_code == 410
    assert tenant_by_slug(slug).state == "pending"
    assert client.get(f"/signup/verify/{slug}/not-a-token").status_code == 410
    assert client.get("/signup/verify/no-such-tenant/x").status_code == 410


def test_sign_up_is_not_served_on_a_tenant_host(app_ctx, client, make_tenant):
    tenant = make_tenant()
    assert client.get("/signup", headers={"Host": f"{tenant.slug}.localhost"}).status_code == 404
