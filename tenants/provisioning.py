"""Creating tenants. A new tenant's row is written inside its own scope, so the RLS check holds."""
from __future__ import annotations

import uuid

import psycopg

from tenants import audit
from tenants.db import tenant_scope
from tenants.errors import Conflict
from tenants.resolution import Tenant


def create_tenant(*, slug: str, name: str, contact_email: str | None = None,
                  state: str = "trial", settings: dict | None = None) -> Tenant:
    tenant_id = uuid.uuid4()
    try:
        with tenant_scope(tenant_id) as tx:
            tx.execute(
                "insert into tenants (id, slug, name, state, contact_email, settings)"
                " values (%s, %s, %s, %s, %s, %s)",
                [tenant_id, slug, name, state, contact_email, psycopg.types.json.Jsonb(settings or {})],
            )
            audit.record(tx, actor_kind="system", action="tenant.created", target_kind="tenant",
                         target_id=tenant_id, details={"slug": slug, "state": state})
    except psycopg.errors.UniqueViolation:
        raise Conflict(f"The address '{slug}' is already taken: choose another.", field="slug") from None
    return Tenant(id=tenant_id, slug=slug, name=name, state=state)
