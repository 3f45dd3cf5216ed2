"""What each staff role may do. Checked in actions (not only templates): `require(actor, permission)`."""
from __future__ import annotations

from tenants.errors import Forbidden

PERMISSIONS: dict[str, frozenset[str]] = {
    "room.create": frozenset({"admin", "host"}),
    "room.edit": frozenset({"admin", "host"}),
    "room.delete": frozenset({"admin"}),
    "room.open": frozenset({"admin", "host"}),
    "room.close": frozenset({"admin", "host"}),
    "room.archive": frozenset({"admin"}),
    "question.moderate": frozenset({"admin", "host", "moderator"}),
    "question.answer": frozenset({"admin", "host", "panelist"}),
    "announcement.post": frozenset({"admin", "host", "moderator"}),
    "poll.manage": frozenset({"admin", "host"}),
    "staff.manage": frozenset({"admin"}),
    "settings.edit": frozenset({"admin"}),
    "audit.read": frozenset({"admin"}),
}

PERMISSION_MESSAGES = {
    "room.delete": "Only a tenant admin can delete a room.",
    "settings.edit": "Only a tenant admin can change settings and branding.",
    "staff.manage": "Only a tenant admin can manage staff.",
}


def can(role: str, permission: str) -> bool:
    return role in PERMISSIONS[permission]


def require(role: str, permission: str) -> None:
    if not can(role, permission):
        raise Forbidden(PERMISSION_MESSAGES.get(permission, "Your role does not allow this action."))
