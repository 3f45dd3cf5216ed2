"""Binds a blueprint to the current tenant: `/t/<tenant>/...` → `g.tenant`, checked against the host."""
from __future__ import annotations

from flask import Blueprint, abort, g, request

from tenants.resolution import HOST_SLUG_KEY, tenant_by_slug


def tenant_blueprint(name: str, import_name: str, url_prefix: str = "") -> Blueprint:
    bp = Blueprint(name, import_name, url_prefix=f"/t/<tenant>{url_prefix}")

    @bp.url_value_preprocessor
    def resolve(endpoint, values):
        slug = (values or {}).pop("tenant", "")
        host_slug = request.environ.get(HOST_SLUG_KEY)
        if host_slug and host_slug != slug:
            abort(404)  # tenant A's host never serves tenant B
        tenant = tenant_by_slug(slug) if slug else None
        if tenant is None or tenant.state in ("pending", "closed"):
            abort(404)
        g.tenant = tenant

    @bp.url_defaults
    def add_tenant(endpoint, values):
        if "tenant" not in values and getattr(g, "tenant", None):
            values["tenant"] = g.tenant.slug

    return bp
