"""Signed tokens that let a page's JavaScript connect to the live server.

The page is rendered by `web` after it has checked the resident's or staff member's cookie; the
token carries the tenant, room and identity, so the live process needs no cookie and works
from another origin (the embed). Tokens are signed with SECRET_KEY and expire.
"""
from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

RESIDENT_MAX_AGE = 24 * 3600


@dataclass(frozen=True)
class LiveIdentity:
    tenant_id: UUID
    room_id: UUID
    kind: str                 # "resident", "staff" or "viewer" (read-only, not joined)
    subject_id: UUID | None   # participant id or staff id
    lang: str = "en"          # the page's language: replies and errors on this connection use it


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="townhall-live")


def make_token(identity: LiveIdentity) -> str:
    return _serializer().dumps({"t": str(identity.tenant_id), "r": str(identity.room_id),
                                "k": identity.kind, "s": str(identity.subject_id or ""), "l": identity.lang})


def read_token(token: str) -> LiveIdentity | None:
    if not isinstance(token, str) or len(token) > 512:
        return None
    try:
        data = _serializer().loads(token, max_age=RESIDENT_MAX_AGE)
        identity = LiveIdentity(UUID(data["t"]), UUID(data["r"]), data["k"],
                                UUID(data["s"]) if data["s"] else None,
                                data.get("l") if data.get("l") in ("en", "cy") else "en")
    except (BadSignature, KeyError, ValueError, TypeError):
        return None
    if identity.kind not in ("resident", "staff", "viewer"):
        return None
    return identity
