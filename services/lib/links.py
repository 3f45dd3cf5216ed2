"""Absolute links to a tenant's site, for emails and calendar files (no request to go by).

PUBLIC_URL set (development, tests, path-mode deployments): `{PUBLIC_URL}/t/{slug}{path}`.
Otherwise the tenant's own host: `https://{slug}.{BASE_DOMAIN}{path}`.
"""
from __future__ import annotations

from flask import current_app


def tenant_url(slug: str, path: str = "/") -> str:
    config = current_app.config["TOWNHALL"]
    if config.public_url:
        return f"{config.public_url}/t/{slug}{path}"
    if config.base_domain in ("localhost", "127.0.0.1"):
        return f"http://localhost:5000/t/{slug}{path}"
    return f"https://{slug}.{config.base_domain}{path}"
