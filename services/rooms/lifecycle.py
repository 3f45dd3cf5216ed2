"""Room states and who may move a room between them.

draft → scheduled → live → closed → archived; a scheduled room can go back to draft.
"""
from __future__ import annotations

TRANSITIONS: dict[tuple[str, str], str] = {
    ("draft", "scheduled"): "room.edit",
    ("scheduled", "draft"): "room.edit",
    ("scheduled", "live"): "room.open",
    ("draft", "live"): "room.open",
    ("live", "closed"): "room.close",
    ("closed", "archived"): "room.archive",
}

EDITABLE_STATES = frozenset({"draft", "scheduled", "live"})
DELETABLE_STATES = frozenset({"draft", "scheduled"})
ASKING_STATES = frozenset({"scheduled", "live"})   # scheduled: questions in advance
PUBLIC_STATES = frozenset({"scheduled", "live", "closed", "archived"})


def permission_for(current: str, target: str) -> str | None:
    return TRANSITIONS.get((current, target))
