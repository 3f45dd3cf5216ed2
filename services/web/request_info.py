"""Facts about the current request that actions need (where it came from)."""
from __future__ import annotations

from flask import request


def client_ip() -> str | None:
    # Behind the ingress, ProxyFix (services/app.py) has already set remote_addr from X-Forwarded-For.
    return request.remote_addr


def client_ip_from_environ(environ: dict, proxy_hops: int) -> str | None:
    """The caller's address for requests ProxyFix does not see (Socket.IO is served before the
    Flask app): the address `proxy_hops` trusted proxies from the right of X-Forwarded-For, as
    ProxyFix does. With no trusted proxies the header is ignored, so a client cannot forge it."""
    remote = environ.get("REMOTE_ADDR") or None
    if proxy_hops <= 0:
        return remote
    forwarded = [part.strip() for part in environ.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    return forwarded[-proxy_hops] if len(forwarded) >= proxy_hops else remote
