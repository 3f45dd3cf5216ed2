"""Creating tenants, and self-provisioning: sign-up, email verification, platform approval.

A new tenant's row is written inside its own scope, so the RLS check holds. A sign-up creates
the tenant in state `pending` (its pages are 404) with a 24-hour, one-use verification link;
verifying makes it `trial` and the contact its first admin; a platform admin approves it.
"""
from __future__ import annotations

import uuid
from datetime import timedelta

import psycopg
from psycopg.types.json import Jsonb

from tenants import audit, emails, links
from tenants.auth import create_staff
from tenants.db import Tx, tenant_scope, unscoped
from tenants.errors import Conflict, Gone, NotFound, ValidationFailed
from tenants.passwords import check_password
from tenants.resolution import Tenant, tenant_by_slug

SIGNUP_LINK_LIFETIME = timedelta(hours=24)
SLUG_TAKEN = "The address '{slug}' is already taken: choose another."


def _insert_tenant(tx: Tx, *, slug: str, name: str, state: str, contact_email: str | None, settings: dict) -> None:
    tx.execute("insert into tenants (id, slug, name, state, contact_email, settings) values (%s, %s, %s, %s, %s, %s)",
               [tx.tenant_id, slug, name, state, contact_email, Jsonb(settings)])
    audit.record(tx, actor_kind="system", action="tenant.created", target_kind="tenant",
                 target_id=tx.tenant_id, details={"slug": slug, "state": state})


def create_tenant(*, slug: str, name: str, contact_email: str | None = None,
                  state: str = "trial", settings: dict | None = None) -> Tenant:
    tenant_id = uuid.uuid4()
    try:
        with tenant_scope(tenant_id) as tx:
            _insert_tenant(tx, slug=slug, name=name, state=state, contact_email=contact_email, settings=settings or {})
    except psycopg.errors.UniqueViolation:
        raise Conflict(SLUG_TAKEN.format(slug=slug), field="slug") from None
    return Tenant(id=tenant_id, slug=slug, name=name, state=state)


# --- self-provisioning ----------------------------------------------------------------------

def domain_allowed(email: str, suffixes) -> bool:
    domain = email.rsplit("@", 1)[-1].lower()
    return any(domain == s or domain.endswith("." + s) for s in suffixes)


def email_may_sign_up(email: str, suffixes) -> bool:
    if domain_allowed(email, suffixes):
        return True
    with unscoped() as tx:
        return bool(tx.value("select exists (select 1 from signup_overrides where email = %s)", [email.lower()]))


def request_signup(*, organisation: str, slug: str, contact_name: str, email: str, suffixes, ip: str | None,
                   link_for) -> Tenant:
    """A pending tenant and an emailed verification link (`link_for(slug, token)` makes the URL)."""
    email = email.lower()
    if not email_may_sign_up(email, suffixes):
        listed = " or ".join(suffixes)
        raise ValidationFailed(f"Use an email address on your organisation's own domain (ending {listed}). "
                               "If your organisation uses another domain, ask Townhall support to allow it.",
                               field="email")
    tenant_id = uuid.uuid4()
    try:
        with tenant_scope(tenant_id) as tx:
            _insert_tenant(tx, slug=slug, name=organisation, state="pending", contact_email=email,
                           settings={"contact_name": contact_name})
            token = links.issue(tx, "signup", SIGNUP_LINK_LIFETIME, email=email, data={"name": contact_name})
            audit.record(tx, actor_kind="system", actor_label=email, action="tenant.signup_requested",
                         target_kind="tenant", target_id=tenant_id, ip=ip)
            emails.send_after_commit(tx, email, *emails.signup_verification(organisation, contact_name,
                                                                            link_for(slug, token)))
    except psycopg.errors.UniqueViolation:
        raise Conflict(SLUG_TAKEN.format(slug=slug), field="slug") from None
    return Tenant(id=tenant_id, slug=slug, name=organisation, state="pending")


def _pending(slug: str) -> Tenant:
    tenant = tenant_by_slug(slug)
    if tenant is None or tenant.state != "pending":
        raise Gone(links.EXPIRED)
    return tenant


def signup_invitee(slug: str, token: str) -> dict | None:
    """Who a still-valid verification link is for, or None."""
    try:
        tenant = _pending(slug)
    except Gone:
        return None
    with tenant_scope(tenant.id) as tx:
        link = links.find(tx, token, "signup")
    return {"tenant": tenant, "email": link["email"], "name": link["data"].get("name", "")} if link else None


def verify_signup(*, slug: str, token: str, password: str, ip: str | None) -> Tenant:
    """The link works once: the tenant becomes `trial`, the contact its first admin with this password."""
    check_password(password)
    tenant = _pending(slug)
    with tenant_scope(tenant.id) as tx:
        link = links.consume(tx, token, "signup")
        tx.execute("update tenants set state = 'trial', updated_at = now() where id = %s and state = 'pending'",
                   [tenant.id])
        staff = create_staff(tx, email=link["email"], display_name=link["data"].get("name") or link["email"],
                             role="admin", password=password)
        audit.record(tx, actor_kind="staff", actor_id=staff.id, actor_label=staff.label, action="tenant.verified",
                     target_kind="tenant", target_id=tenant.id, ip=ip)
    return Tenant(id=tenant.id, slug=tenant.slug, name=tenant.name, state="trial")


def approve_tenant(slug: str, plan: str, *, by: str = "platform") -> Tenant:
    """Platform approval (a CLI command until the platform console exists): active, on `plan`."""
    tenant = tenant_by_slug(slug)
    if tenant is None:
        raise NotFound(f"There is no tenant '{slug}'.")
    if tenant.state not in ("trial", "active"):
        raise Conflict(f"Tenant '{slug}' is {tenant.state}: only a verified (trial) or active tenant can be approved.")
    with tenant_scope(tenant.id) as tx:
        if tx.value("select 1 from plans where name = %s", [plan]) is None:
            names = ", ".join(r["name"] for r in tx.all("select name from plans order by monthly_price_pence"))
            raise NotFound(f"There is no plan '{plan}'. Plans: {names}.")
        tx.execute("update tenants set state = 'active', plan = %s, settings = settings || %s, updated_at = now()"
                   " where id = %s", [plan, Jsonb({"plan": plan}), tenant.id])
        audit.record(tx, actor_kind="platform", actor_label=by, action="tenant.approved", target_kind="tenant",
                     target_id=tenant.id, details={"plan": plan, "from": tenant.state})
    return Tenant(id=tenant.id, slug=tenant.slug, name=tenant.name, state="active")


def grant_signup_override(email: str, *, by: str = "platform") -> None:
    email = email.strip().lower()
    if "@" not in email[1:]:
        raise ValidationFailed("Give a full email address.", field="email")
    with unscoped() as tx:
        tx.execute("insert into signup_overrides (email, granted_by) values (%s, %s)"
                   " on conflict (email) do update set granted_by = excluded.granted_by, granted_at = now()",
                   [email, by])
