"""Reading rooms. Loading goes through the tenant scope: someone else's room is simply not found."""
from __future__ import annotations

from uuid import UUID

from services.ids import parse_uuid
from services.rooms.lifecycle import PUBLIC_STATES
from tenants.db import Tx
from tenants.errors import NotFound


def get_room(tx: Tx, room_id, *, for_update: bool = False) -> dict:
    room_uuid = parse_uuid(room_id)
    row = None
    if room_uuid:
        row = tx.one("select * from rooms where id = %s" + (" for update" if for_update else ""), [room_uuid])
    if row is None:
        raise NotFound("We could not find that chat.")
    return row


def get_public_room(tx: Tx, room_id) -> dict:
    room = get_room(tx, room_id)
    if room["state"] not in PUBLIC_STATES:
        raise NotFound("We could not find that chat.")
    return room


def list_rooms(tx: Tx) -> list[dict]:
    return tx.all("select * from rooms order by starts_at desc")


def list_public_rooms(tx: Tx) -> dict[str, list[dict]]:
    rows = tx.all("select * from rooms where state = any(%s) order by starts_at", [list(PUBLIC_STATES)])
    return {
        "live": [r for r in rows if r["state"] == "live"],
        "upcoming": [r for r in rows if r["state"] == "scheduled"],
        "past": sorted((r for r in rows if r["state"] in ("closed", "archived")),
                       key=lambda r: r["starts_at"], reverse=True),
    }


def room_staff(tx: Tx, room_id: UUID) -> list[dict]:
    return tx.all("select rs.role, u.id, u.display_name, u.title from room_staff rs"
                  " join staff_users u on u.id = rs.staff_id where rs.room_id = %s order by rs.role, u.display_name",
                  [room_id])
