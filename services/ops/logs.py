"""Structured logging: one JSON object per line with request and tenant ids, no personal data."""
from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter


class RequestContextFilter(logging.Filter):
    """Adds request_id and tenant_id when a Flask request is active."""

    def filter(self, record: logging.LogRecord) -> bool:
        from flask import g, has_request_context

        record.request_id = getattr(g, "request_id", None) if has_request_context() else None
        tenant = getattr(g, "tenant", None) if has_request_context() else None
        record.tenant_id = str(tenant.id) if tenant else None
        return True


def configure_logging(log_format: str, level: str, process: str = "web") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(RequestContextFilter())
    if log_format == "json":
        handler.setFormatter(JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(tenant_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            static_fields={"process": process},
        ))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-5s %(name)s: %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("werkzeug", "engineio.server", "socketio.server", "geventwebsocket"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
