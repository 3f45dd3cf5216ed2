"""One table of live commands, served by two transports: Socket.IO events (services/web/live/events.py)
and the console's plain HTML forms (services/web/console/views.py). Each command validates its
payload with a marshmallow schema and calls one action inside the caller's tenant scope."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from marshmallow import Schema

from services.engagement.themes import tag_poll, tag_question
from services.live import actions, groups, schemas
from services.rooms.actions import change_state
from services.lib.validation import load
from tenants.db import Tx


@dataclass(frozen=True)
class Command:
    schema: type[Schema]
    run: Callable[[Tx, Any, Any, dict], Any]   # (tx, actor, room_id, data) -> result


def _jsonable(value):
    if isinstance(value, dict):
        return {"id": str(value["id"])} if "id" in value else {}
    return {"value": value} if value is not None else {}


RESIDENT_COMMANDS: dict[str, Command] = {
    "ask": Command(schemas.AskSchema, lambda tx, p, room_id, d: actions.submit_question(tx, p, d["body"])),
    "vote": Command(schemas.QuestionRefSchema, lambda tx, p, room_id, d: actions.upvote_question(tx, p, d["question_id"])),
    "poll_vote": Command(schemas.PollVoteSchema,
                         lambda tx, p, room_id, d: actions.vote_in_poll(tx, p, d["poll_id"], d["option_ids"])),
}

STAFF_COMMANDS: dict[str, Command] = {
    "approve": Command(schemas.ApproveSchema,
                       lambda tx, s, room_id, d: actions.approve_question(tx, s, d["question_id"], d.get("body"))),
    "reject": Command(schemas.RejectSchema,
                      lambda tx, s, room_id, d: actions.reject_question(tx, s, d["question_id"], d["reason"])),
    "escalate": Command(schemas.EscalateSchema,
                        lambda tx, s, room_id, d: actions.escalate_question(tx, s, d["question_id"], d["note"])),
    "merge": Command(schemas.MergeSchema,
                     lambda tx, s, room_id, d: actions.merge_question(tx, s, d["question_id"], d["into_id"])),
    "merge_group": Command(schemas.MergeGroupSchema, lambda tx, s, room_id, d: groups.merge_group(
        tx, s, room_id, d["group_id"], d["keep_id"])),
    "split": Command(schemas.QuestionRefSchema,
                     lambda tx, s, room_id, d: groups.split_question(tx, s, room_id, d["question_id"])),
    "tag": Command(schemas.TagSchema, lambda tx, s, room_id, d: tag_question(tx, s, d["question_id"], d["theme_ids"])),
    "hide": Command(schemas.QuestionRefSchema, lambda tx, s, room_id, d: actions.hide_question(tx, s, d["question_id"])),
    "reply": Command(schemas.ReplySchema,
                     lambda tx, s, room_id, d: actions.reply_privately(tx, s, d["question_id"], d["body"])),
    "assign": Command(schemas.AssignSchema,
                      lambda tx, s, room_id, d: actions.assign_question(tx, s, d["question_id"], d["assignee_id"])),
    "answer": Command(schemas.AnswerSchema,
                      lambda tx, s, room_id, d: actions.answer_question(tx, s, d["question_id"], d["body"])),
    "announce": Command(schemas.AnnouncementSchema,
                        lambda tx, s, room_id, d: actions.post_announcement(tx, s, room_id, d["body"])),
    "poll_open": Command(schemas.PollSchema, lambda tx, s, room_id, d: actions.open_poll(
        tx, s, room_id, d["prompt"], d["kind"], d["options"], d["results_visibility"])),
    "tag_poll": Command(schemas.TagPollSchema,
                        lambda tx, s, room_id, d: tag_poll(tx, s, d["poll_id"], d["theme_ids"])),
    "poll_close": Command(schemas.PollRefSchema, lambda tx, s, room_id, d: actions.close_poll(tx, s, d["poll_id"])),
    "room_state": Command(schemas.RoomStateSchema,
                          lambda tx, s, room_id, d: change_state(tx, s, room_id, d["state"],
                                                              tenant_state=_tenant_state(tx))),
}


def _tenant_state(tx: Tx) -> str:
    return tx.value("select state from tenants where id = %s", [tx.tenant_id])


def validate(command: Command, payload) -> dict:
    return load(command.schema, payload)


def execute(command: Command, tx: Tx, actor, room_id, data: dict) -> dict:
    """Run a validated command in the caller's room. Each action loads what it checks (the room's
    state included) itself, so the caller need not read the room first."""
    return _jsonable(command.run(tx, actor, room_id, data))
