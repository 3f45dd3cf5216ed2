"""Which tenant a request is for: `{slug}.BASE_DOMAIN`, a verified custom domain, or `/t/{slug}`.

Host-based requests are rewritten to the `/t/{slug}` form before routing by
`TenantHostMiddleware`, so every tenant route has one shape. A request that arrives on tenant
A's host can never reach tenant B's `/t/b/...` routes (404).
"""
from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from tenants.db import unscoped

HOST_SLUG_KEY = "townhall.host_slug"
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
    with unscoped() as tx:
        row = tx.one("select * from townhall_tenant_by_slug(%s)", [slug])
    return Tenant(**row) if row else None


def slug_for_domain(pool, domain: str) -> str | None:
    with pool.connection() as conn:
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
        slug = self.host_slug(_host_without_port(environ))
        if slug:
            environ[HOST_SLUG_KEY] = slug
            path = environ.get("PATH_INFO", "/")
            if not path.startswith("/t/") and not path.startswith(PLATFORM_PATHS):
                environ["PATH_INFO"] = f"/t/{slug}{path}"
        return self.wsgi_app(environ, start_response)
