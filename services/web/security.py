"""Security headers on every response: strict CSP without inline script, HSTS in production."""
from __future__ import annotations

import uuid

from flask import g, request


def init_app(app) -> None:
    config = app.config["TOWNHALL"]
    live_origin = config.live_url
    connect = " ".join(filter(None, ["'self'", live_origin, live_origin.replace("http", "ws", 1) if live_origin else ""]))

    @app.before_request
    def assign_request_id():
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex

    @app.after_request
    def headers(response):
        frame_ancestors = getattr(g, "frame_ancestors", "'self'")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"media-src 'self'; connect-src {connect}; frame-ancestors {frame_ancestors}; "
            "base-uri 'none'; form-action 'self'; object-src 'none'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        response.headers["X-Request-ID"] = g.get("request_id") or uuid.uuid4().hex  # also when routing failed early
        if config.is_production:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
