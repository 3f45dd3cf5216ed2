"""Creating, editing, deleting rooms and moving them through their lifecycle."""
from __future__ import annotations

from uuid import UUID

from psycopg import sql

from services.api import webhooks
from services.rooms.event_log import append_room_event
from services.reminders import schedule as reminders
from services.rooms import lifecycle
from services.rooms.queries import get_room
from services.ops import jobs
from tenants import audit, plans
from tenants.auth import Staff
from tenants.db import Tx
from tenants.errors import Conflict, ValidationFailed
from tenants.roles import require

DEFAULT_SIGNPOSTING = ("This chat is not for reporting crime. To report a crime call 101 or report online. "
                       "In an emergency, when life is at risk or a crime is happening now, call 999.")
EDITABLE_FIELDS = ("title", "description", "title_cy", "description_cy", "tags", "area", "starts_at", "ends_at", "mode", "votes_enabled",
                   "slow_mode_seconds", "welcome_text", "signposting_text", "closing_text", "language")
LIVE_EDITABLE_FIELDS = frozenset({"title", "description", "title_cy", "description_cy", "tags", "area", "ends_at", "welcome_text",
                                  "signposting_text", "closing_text", "slow_mode_seconds", "votes_enabled"})


def _tenant_default_signposting(tx: Tx) -> str:
    settings = tx.value("select settings from tenants where id = %s", [tx.tenant_id]) or {}
    return settings.get("signposting_text") or DEFAULT_SIGNPOSTING


def create_room(tx: Tx, staff: Staff, data: dict) -> dict:
    require(staff.role, "room.create")
    values = {k: data[k] for k in EDITABLE_FIELDS if k in data}
    if values.get("starts_at"):
        plans.check_room_allowance(tx, values["starts_at"])
    values["signposting_text"] = values.get("signposting_text") or _tenant_default_signposting(tx)
    columns = ["tenant_id", "created_by", *values]
    query = sql.SQL("insert into rooms ({}) values ({}) returning *").format(
        sql.SQL(", ").join(map(sql.Identifier, columns)), sql.SQL(", ").join(sql.Placeholder() * len(columns)))
    room = tx.one(query, [tx.tenant_id, staff.id, *values.values()])
    audit.record_staff(tx, staff, "room.created", "room", room["id"], {"title": room["title"]})
    return room


def update_room(tx: Tx, staff: Staff, room_id, data: dict) -> dict:
    require(staff.role, "room.edit")
    room = get_room(tx, room_id, for_update=True)
    if room["state"] not in lifecycle.EDITABLE_STATES:
        raise Conflict("A closed chat cannot be edited.")
    allowed = LIVE_EDITABLE_FIELDS if room["state"] == "live" else frozenset(EDITABLE_FIELDS)
    changes = {k: data[k] for k in EDITABLE_FIELDS if k in data and data[k] != room[k]}
    refused = sorted(set(changes) - allowed)
    if refused:
        raise Conflict(f"While the chat is live, {', '.join(refused)} cannot change.", field=refused[0])
    if not changes:
        return room
    if "starts_at" in changes and plans.month_start(changes["starts_at"]) != plans.month_start(room["starts_at"]):
        plans.check_room_allowance(tx, changes["starts_at"])   # moving into a month that is already full
    query = sql.SQL("update rooms set {}, updated_at = now() where id = %s returning *").format(
        sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(k)) for k in changes))
    updated = tx.one(query, [*changes.values(), room["id"]])
    audit.record_staff(tx, staff, "room.updated", "room", room["id"], {"fields": sorted(changes)})
    if "starts_at" in changes:
        reminders.room_rescheduled(tx, updated)
    if room["state"] == "live":
        append_room_event(tx, room["id"], "room.updated", public_room_fields(updated))
    return updated


def delete_room(tx: Tx, staff: Staff, room_id) -> None:
    require(staff.role, "room.delete")
    room = get_room(tx, room_id, for_update=True)
    if room["state"] not in lifecycle.DELETABLE_STATES:
        raise Conflict("Only a draft or scheduled chat can be deleted; close or archive it instead.")
    reminders.room_cancelled(tx, room)   # the messages outlive the room and its registrations
    tx.execute("delete from rooms where id = %s", [room["id"]])
    audit.record_staff(tx, staff, "room.deleted", "room", room["id"], {"title": room["title"]})


def change_state(tx: Tx, staff: Staff, room_id, target: str, *, tenant_state: str = "active") -> dict:
    room = get_room(tx, room_id, for_update=True)
    permission = lifecycle.permission_for(room["state"], target)
    if permission is None:
        raise Conflict(f"A {room['state']} chat cannot become {target}.", field="state")
    require(staff.role, permission)
    if target == "live" and tenant_state == "suspended":
        raise Conflict("This service is paused by the platform, so chats cannot open. Contact Townhall support.")
    stamp = {"live": ", opened_at = now()", "closed": ", closed_at = now()"}.get(target, "")
    updated = tx.one(f"update rooms set state = %s, updated_at = now(){stamp} where id = %s returning *",
                     [target, room["id"]])
    audit.record_staff(tx, staff, f"room.{target}", "room", room["id"], {"from": room["state"]})
    append_room_event(tx, room["id"], "room.state", {"state": target, "closing_text": updated["closing_text"]})
    if target == "closed":
        tenant_id = tx.tenant_id
        tx.after_commit(lambda: jobs.enqueue(jobs.BUILD_TRANSCRIPT, str(tenant_id), str(room["id"])))
    if target in ("live", "closed"):
        webhooks.enqueue(tx, f"room.{target}", webhooks.room_payload(updated))
    return updated


def set_room_staff(tx: Tx, staff: Staff, room_id, assignments: dict[str, list[UUID]]) -> None:
    """Replace the room's hosts, moderators and panelists."""
    require(staff.role, "room.edit")
    room = get_room(tx, room_id, for_update=True)
    unknown = [r for r in assignments if r not in ("host", "moderator", "panelist")]
    if unknown:
        raise ValidationFailed(f"Unknown room role: {unknown[0]}", field="role")
    tx.execute("delete from room_staff where room_id = %s", [room["id"]])
    for role, staff_ids in assignments.items():
        for staff_id in staff_ids:
            tx.execute("insert into room_staff (tenant_id, room_id, staff_id, role)"
                       " select %s, %s, id, %s from staff_users where id = %s and status = 'active'",
                       [tx.tenant_id, room["id"], role, staff_id])
    audit.record_staff(tx, staff, "room.staff_set", "room", room["id"],
                       {role: [str(i) for i in ids] for role, ids in assignments.items()})


def public_room_fields(room: dict) -> dict:
    return {k: room[k] for k in ("title", "description", "title_cy", "description_cy", "welcome_text",
                                 "signposting_text", "closing_text")}
