"""Which tenant a request is for: `{slug}.BASE_DOMAIN`, a verified custom domain, or `/t/{slug}`.

Host-based requests are rewritten to the `/t/{slug}` form before routing by
`TenantHostMiddleware`, so every tenant route has one shape. A request that arrives on tenant
A's host can never reach tenant B's `/t/b/...` routes (404).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from uuid import UUID

from tenants.db import borrow, unscoped
from tenants.errors import Unavailable

HOST_SLUG_KEY = "townhall.host_slug"
# What a slug or a domain can look like (the same rule as the tenants table's check): anything else
# is simply no tenant, without asking the database (which cannot even take NUL characters).
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{1,38}[a-z0-9]")
DOMAIN = re.compile(r"(?=.{1,253}$)[a-z0-9-]{1,63}(\.[a-z0-9-]{1,63})+")
PLATFORM_PATHS = ("/static/", "/vendor/", "/healthz", "/readyz", "/metrics", "/socket.io")


@dataclass(frozen=True)
class Tenant:
    id: UUID
    slug: str
    name: str
    state: str

    @property
    def is_suspended(self) -> bool:
        return self.state == "suspended"


def tenant_by_slug(slug: str) -> Tenant | None:
    if not SLUG.fullmatch(slug or ""):
        return None
    with unscoped() as tx:
        row = tx.one("select * from townhall_tenant_by_slug(%s)", [slug])
    return Tenant(**row) if row else None


def slug_for_domain(pool, domain: str) -> str | None:
    """The tenant slug for a verified custom domain; raises Unavailable when the database is down."""
    if not DOMAIN.fullmatch(domain or ""):
        return None
    with borrow(pool) as conn:
        row = conn.execute("select slug from townhall_tenant_by_domain(%s)", [domain]).fetchone()
    return row["slug"] if row else None


def _host_without_port(environ) -> str:
    host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
    if host.startswith("["):  # IPv6 literal
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0].lower()


class TenantHostMiddleware:
    """Rewrites `{slug}.BASE_DOMAIN/x` and `custom.domain/x` to `/t/{slug}/x`."""

    def __init__(self, wsgi_app, base_domain: str, domain_lookup):
        self.wsgi_app = wsgi_app
        self.base_domain = base_domain
        self.domain_lookup = domain_lookup

    def host_slug(self, host: str) -> str | None:
        if host in (self.base_domain, "localhost", "127.0.0.1", "[::1]") or not host:
            return None
        suffix = "." + self.base_domain
        if host.endswith(suffix):
            return host[: -len(suffix)] or None
        return self.domain_lookup(host)

    def __call__(self, environ, start_response):
        try:
            slug = self.host_slug(_host_without_port(environ))
        except Unavailable as exc:  # a custom domain cannot be resolved while the database is down
            return _unavailable_response(exc)(environ, start_response)
        if slug:
            environ[HOST_SLUG_KEY] = slug
            path = environ.get("PATH_INFO", "/")
            if not path.startswith("/t/") and not path.startswith(PLATFORM_PATHS):
                environ["PATH_INFO"] = f"/t/{slug}{path}"
        return self.wsgi_app(environ, start_response)


def _unavailable_response(exc: Unavailable):
    from werkzeug.wrappers import Response

    return Response(exc.message, status=503, mimetype="text/plain",
                    headers={"Retry-After": str(exc.details.get("retry_after", 5))})
