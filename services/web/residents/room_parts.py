"""The order of the room page's parts, by the chat's state: what a resident came to do comes first.

Before the chat: the calendar and reminders. While it is live: joining, then asking,
then the live captions (shown once the host speaks), then what is being said (announcements and an open poll above the questions), with reminders and
sharing folded below. Afterwards: the transcript and the written answers.

The page is rendered in this order, and room.js moves the same parts when the state changes
while a resident has the page open, so both follow one table.
"""
from __future__ import annotations

from dataclasses import dataclass

from services.web.residents.blueprint import bp

ORDERS: dict[str, tuple[str, ...]] = {
    "scheduled": ("calendar", "register", "safety", "about", "ask", "announcements", "polls", "questions", "captions",
                  "media", "share"),
    "live": ("safety", "ask", "captions", "announcements", "polls", "counts", "questions", "about", "media", "register",
             "calendar", "share"),
    "closed": ("closing", "transcript", "questions", "counts", "captions", "media", "announcements", "polls", "ask",
               "safety", "about", "share"),
}
ORDERS["archived"] = ORDERS["closed"]

# Parts folded into a disclosure when the page is rendered live: there, one keypress away, not in
# the way. (A page that goes live while open keeps them open: only their place changes.)
FOLDED: dict[str, frozenset[str]] = {"live": frozenset({"register", "share"})}


@dataclass(frozen=True)
class RoomPlan:
    order: tuple[str, ...]
    folded: frozenset[str]


@bp.app_template_global()
def room_plan(state: str) -> RoomPlan:
    return RoomPlan(ORDERS[state], FOLDED.get(state, frozenset()))


@bp.app_template_global()
def room_part_orders() -> dict[str, list[str]]:
    """For room.js: the order of every state, so a page open across a state change can follow."""
    return {state: list(order) for state, order in ORDERS.items()}
