"""Groups of similar questions in the moderator's queue (found on arrival by services/assist):
merging a group publishes one question and merges the others into it with the ordinary merge
(audited, each asker told, counted in the transcript); splitting takes one question out of a
group it should not be in. Nothing is grouped, merged or split without a moderator's say."""
from __future__ import annotations

from tenants.ids import parse_uuid
from services.live.actions import _display_name, _question, approve_question, merge_question
from services.live.presenters import staff_question
from services.rooms.event_log import append_staff_event
from tenants import audit
from tenants.auth import Staff
from tenants.db import Tx
from tenants.errors import Conflict, NotFound, ValidationFailed
from tenants.roles import require


def _members(tx: Tx, group_id, room_id) -> list[dict]:
    gid = parse_uuid(group_id)
    rows = tx.all("select * from questions where group_id = %s and room_id = %s and status in ('pending', 'published')"
                  " order by created_at, id for update", [gid, room_id]) if gid else []
    if len(rows) < 2:
        raise NotFound("We could not find that group of similar questions.")
    return rows


def merge_group(tx: Tx, staff: Staff, room_id, group_id, keep_id=None) -> dict:
    """Publish one question of the group (`keep_id`, or the earliest; an already published member
    wins) and merge every other waiting member into it. Returns the published question."""
    require(staff.role, "question.moderate")
    members = _members(tx, group_id, room_id)
    waiting = [m for m in members if m["status"] == "pending"]
    published = [m for m in members if m["status"] == "published"]
    if not waiting:
        raise Conflict("Nothing in this group is waiting for moderation.")
    if published:
        target = published[0]
    else:
        keep = waiting[0] if keep_id is None else next((m for m in waiting if m["id"] == keep_id), None)
        if keep is None:
            raise ValidationFailed("Choose one of the group's questions to publish.", field="keep_id")
        target = approve_question(tx, staff, keep["id"])
    merged = [m for m in waiting if m["id"] != target["id"]]
    for member in merged:
        merge_question(tx, staff, member["id"], target["id"])
    audit.record_staff(tx, staff, "question.group_merged", "question", target["id"],
                       {"group": str(members[0]["group_id"]), "merged": [str(m["id"]) for m in merged]})
    return target


def split_question(tx: Tx, staff: Staff, room_id, question_id) -> dict:
    """Take a question out of its group for good (it is never grouped again); a group left with
    one question is no group."""
    require(staff.role, "question.moderate")
    question = _question(tx, question_id, room_id=room_id, for_update=True)
    if question["group_id"] is None:
        raise Conflict("This question is not in a group.")
    tx.execute("update question_embeddings set split_out = true where question_id = %s", [question["id"]])
    changed = [tx.one("update questions set group_id = null where id = %s returning *", [question["id"]])]
    rest = tx.all("select * from questions where group_id = %s and room_id = %s and status in ('pending', 'published')",
                  [question["group_id"], question["room_id"]])
    if len(rest) == 1:
        changed.append(tx.one("update questions set group_id = null where id = %s returning *", [rest[0]["id"]]))
    for row in changed:
        append_staff_event(tx, row["room_id"], "question.grouped",
                           staff_question(row, _display_name(tx, row["participant_id"])))
    audit.record_staff(tx, staff, "question.split_from_group", "question", question["id"],
                       {"group": str(question["group_id"])})
    return changed[0]
