"""The current tenant's settings (the `tenants.settings` JSON) and contact, read once per request."""
from __future__ import annotations

from flask import g

from tenants.db import tenant_scope


def read_settings(tenant_id) -> dict:
    with tenant_scope(tenant_id) as tx:
        row = tx.one("select settings, contact_email from tenants where id = %s", [tenant_id])
    return {**(row["settings"] or {}), "_contact_email": row["contact_email"]} if row else {}


def tenant_settings() -> dict:
    if "tenant_settings" not in g:
        g.tenant_settings = read_settings(g.tenant.id)
    return g.tenant_settings
