"""What each staff role may do. Checked in actions (not only templates): `require(actor, permission)`.

Panelists (role 'panelist') are invited per room: besides their permissions, every action they
take must be in a room they are on (`require_room`), and they answer only questions handed to them.
"""
from __future__ import annotations

from tenants.db import Tx
from tenants.errors import NotFound, PermissionDenied

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
    "captions.speak": frozenset({"admin", "host"}),   # "Speak live": the room's microphone, captioned
    "staff.manage": frozenset({"admin"}),
    "staff.invite": frozenset({"admin"}),          # an admin invites any role; nobody else invites
    "panelist.invite": frozenset({"admin", "host"}),
    "settings.edit": frozenset({"admin"}),
    "audit.read": frozenset({"admin"}),
    "billing.read": frozenset({"admin"}),          # usage, plan, invoices and the full data export
}

PERMISSION_MESSAGES = {
    "room.delete": "Only a tenant admin can delete a room.",
    "settings.edit": "Only a tenant admin can change settings and branding.",
    "staff.manage": "Only a tenant admin can manage staff.",
    "staff.invite": "Only a tenant admin can invite staff.",
    "audit.read": "Only a tenant admin can read the audit log.",
    "billing.read": "Only a tenant admin can see usage, invoices and data exports.",
    "captions.speak": "Only a host or a tenant admin can speak live in a chat.",
}


def can(role: str, permission: str) -> bool:
    return role in PERMISSIONS[permission]


def require(role: str, permission: str) -> None:
    if not can(role, permission):
        raise PermissionDenied(PERMISSION_MESSAGES.get(permission, "Your role does not allow this action."))


def on_room(tx: Tx, staff, room_id) -> bool:
    """Whether `staff` may see this room: every full staff member; a panelist only their rooms."""
    if staff.role != "panelist":
        return True
    return bool(tx.value("select exists (select 1 from room_staff where room_id = %s and staff_id = %s"
                         " and role = 'panelist')", [room_id, staff.id]))


def require_room(tx: Tx, staff, room_id) -> None:
    if not on_room(tx, staff, room_id):
        raise NotFound("We could not find that chat.")
