"""Reads for the staff moderation page: the tenant's reasons and themes, voting bursts."""
from __future__ import annotations

from uuid import UUID

from services.engagement import settings as engagement_settings
from services.engagement.themes import list_themes
from services.engagement.reasons import tenant_reasons
from tenants.db import Tx


def vote_bursts(tx: Tx, room_id: UUID) -> list[dict]:
    return [r["data"] for r in tx.all("select data from staff_events where room_id = %s and type = 'votes.burst'"
                                      " order by seq", [room_id])]


def question_theme_names(tx: Tx, room_id: UUID) -> dict[str, list[str]]:
    names: dict[str, list[str]] = {}
    for r in tx.all("select qt.question_id, t.name from question_themes qt join themes t on t.id = qt.theme_id"
                    " join questions q on q.id = qt.question_id where q.room_id = %s order by lower(t.name)", [room_id]):
        names.setdefault(str(r["question_id"]), []).append(r["name"])
    return names


def moderation_extras(tx: Tx, room_id: UUID, queue: dict | None = None) -> dict:
    """What the moderation page needs besides the queue; annotates `queue` questions with themes."""
    if queue:
        names = question_theme_names(tx, room_id)
        for q in queue["questions"]:
            q["themes"] = names.get(q["id"], [])
    return {"reasons": tenant_reasons(engagement_settings.read(tx)), "themes": list_themes(tx),
            "bursts": vote_bursts(tx, room_id)}
