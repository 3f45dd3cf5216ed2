"""Liveness and readiness: /healthz answers without I/O; /readyz checks PostgreSQL and Redis."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from services.ops.redis_client import redis_client
from tenants.db import ping

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok", process=current_app.config["PROCESS"])


def _check_postgres() -> str:
    return "ok" if ping() else "unreachable"


def _check_redis() -> str:
    try:
        redis_client().ping()
        return "ok"
    except Exception:  # any redis-py error means not ready; the body says which service
        return "unreachable"


@bp.get("/readyz")
def readyz():
    checks = {"postgres": _check_postgres(), "redis": _check_redis()}
    ready = all(v == "ok" for v in checks.values())
    return jsonify(status="ready" if ready else "not ready", checks=checks), (200 if ready else 503)
