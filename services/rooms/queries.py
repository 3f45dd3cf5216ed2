"""Reading rooms. Loading goes through the tenant scope: someone else's room is simply not found."""
from __future__ import annotations

from uuid import UUID

from tenants.ids import parse_uuid
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


def panelist_rooms(tx: Tx, staff_id: UUID) -> list[dict]:
    """The only chats a panelist sees: those they are invited to."""
    return tx.all("select r.* from rooms r join room_staff rs on rs.room_id = r.id and rs.role = 'panelist'"
                  " where rs.staff_id = %s order by r.starts_at desc", [staff_id])


def handed_to(tx: Tx, room_id: UUID, staff_id: UUID) -> list[dict]:
    """Questions in this chat handed to one person, with the answers given so far."""
    questions = tx.all("select q.id, q.body, q.status, p.display_name from questions q"
                       " join participants p on p.id = q.participant_id"
                       " where q.room_id = %s and q.assigned_to = %s and q.status in ('pending', 'published')"
                       " order by q.created_at", [room_id, staff_id])
    answers = tx.all("select a.question_id, a.body, u.display_name from answers a join staff_users u on u.id = a.staff_id"
                     " where a.question_id = any(%s) order by a.created_at", [[q["id"] for q in questions]])
    for q in questions:
        q["answers"] = [a for a in answers if a["question_id"] == q["id"]]
    return questions
