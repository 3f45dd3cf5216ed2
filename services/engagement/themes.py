"""Themes (the tenant's Police and Crime Plan priorities or precept options) and tagging questions
with them, for consultation reports (services/reports/consultation.py)."""
from __future__ import annotations

import psycopg
from psycopg import sql
from marshmallow import EXCLUDE, Schema, fields, validate

from tenants.ids import parse_uuid
from services.rooms.event_log import append_staff_event
from tenants import audit
from tenants.db import Tx
from tenants.errors import Conflict, NotFound, ValidationFailed
from tenants.roles import require

KINDS = {"priority": "Police and Crime Plan priority", "precept": "Precept option", "other": "Other theme"}


class ThemeSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    name = fields.String(required=True, validate=validate.Length(2, 120, error="Give the theme a name of 2 to 120 "
                                                                                 "characters."),
                         error_messages={"required": "Give the theme a name."})
    kind = fields.String(load_default="priority", validate=validate.OneOf(list(KINDS), error="Choose a kind of theme."))


def list_themes(tx: Tx, *, include_archived: bool = False) -> list[dict]:
    return tx.all("select * from themes" + ("" if include_archived else " where not archived")
                  + " order by kind, lower(name)")


def create_theme(tx: Tx, staff, name: str, kind: str) -> dict:
    require(staff.role, "settings.edit")
    try:
        with tx.conn.transaction():
            row = tx.one("insert into themes (tenant_id, name, kind) values (%s, %s, %s) returning *",
                         [tx.tenant_id, name.strip(), kind])
    except psycopg.errors.UniqueViolation:
        raise ValidationFailed("There is already a theme with that name.", field="name") from None
    audit.record_staff(tx, staff, "theme.created", "theme", row["id"], {"name": row["name"], "kind": kind})
    return row


def archive_theme(tx: Tx, staff, theme_id) -> None:
    require(staff.role, "settings.edit")
    tid = parse_uuid(theme_id)
    row = tx.one("update themes set archived = true where id = %s returning id", [tid]) if tid else None
    if row is None:
        raise NotFound("We could not find that theme.")
    audit.record_staff(tx, staff, "theme.archived", "theme", row["id"])


def tag_question(tx: Tx, staff, question_id, theme_ids: list) -> list[str]:
    """Set a question's themes to exactly `theme_ids` (an empty list clears them)."""
    require(staff.role, "question.moderate")
    qid = parse_uuid(question_id)
    question = tx.one("select id, room_id, status from questions where id = %s for update", [qid]) if qid else None
    if question is None:
        raise NotFound("We could not find that question.")
    if question["status"] == "escalated":
        raise Conflict("An escalated question is not part of any report.")
    return _set_themes(tx, staff, "question", question, theme_ids)


def tag_poll(tx: Tx, staff, poll_id, theme_ids: list) -> list[str]:
    """Set a poll's themes (precept options are often polls)."""
    require(staff.role, "poll.manage")
    pid = parse_uuid(poll_id)
    poll = tx.one("select id, room_id from polls where id = %s for update", [pid]) if pid else None
    if poll is None:
        raise NotFound("We could not find that poll.")
    return _set_themes(tx, staff, "poll", poll, theme_ids)


_LINKS = {"question": sql.SQL("question_themes"), "poll": sql.SQL("poll_themes")}


def _set_themes(tx: Tx, staff, kind: str, item: dict, theme_ids: list) -> list[str]:
    wanted = sorted({str(t) for t in theme_ids})
    rows = tx.all("select id, name from themes where id = any(%s::uuid[]) and not archived order by lower(name)",
                  [wanted])
    if len(rows) != len(wanted):
        raise NotFound("We could not find that theme.", field="theme_ids")
    table, column = _LINKS[kind], sql.Identifier(f"{kind}_id")
    tx.execute(sql.SQL("delete from {} where {} = %s and not (theme_id = any(%s::uuid[]))").format(table, column),
               [item["id"], wanted])
    for theme_id in wanted:
        tx.execute(sql.SQL("insert into {} (tenant_id, {}, theme_id) values (%s, %s, %s) on conflict do nothing")
                   .format(table, column), [tx.tenant_id, item["id"], theme_id])
    names = [r["name"] for r in rows]
    append_staff_event(tx, item["room_id"], f"{kind}.tagged", {"id": str(item["id"]), "themes": names})
    audit.record_staff(tx, staff, f"{kind}.tagged", kind, item["id"], {"themes": wanted})
    return wanted
