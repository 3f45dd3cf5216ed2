"""Facts about the current HTTP request that actions need (where it came from)."""
from __future__ import annotations

from flask import request


def client_ip() -> str | None:
    # Behind the ingress, ProxyFix (services/app.py) has already set remote_addr from X-Forwarded-For.
    return request.remote_addr
