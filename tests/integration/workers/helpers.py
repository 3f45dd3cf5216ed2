"""Small scenarios shared by the background-work tests."""
from __future__ import annotations

from services.live import actions as live
from services.rooms import actions as room_actions
from tenants.db import tenant_scope


def answer_and_close(world, name: str, question: str, answer: str, *, announcement: str | None = None,
                     enqueue: bool = True) -> None:
    """A resident asks, a moderator approves, the host answers (and announces), then closes the room.
    With `enqueue=False` the transcript task is not sent (the test builds it itself)."""
    resident = world.join(name)
    with tenant_scope(world.tenant.id) as tx:
        asked = live.submit_question(tx, resident, question)
        live.approve_question(tx, world.moderator, asked["id"])
        live.answer_question(tx, world.host, asked["id"], answer)
        if announcement:
            live.post_announcement(tx, world.host, world.room["id"], announcement)
        room_actions.change_state(tx, world.host, world.room["id"], "closed")
        if not enqueue:
            tx._after_commit.clear()
