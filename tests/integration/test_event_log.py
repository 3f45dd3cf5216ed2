"""The room event log as one transaction writes it: numbered at COMMIT, emitted as one Redis message."""
from __future__ import annotations

import json

import pytest
import redis
from flask import current_app

from services.live import actions
from services.rooms.broadcast import EMIT_BATCH
from services.rooms.event_log import append_room_event, append_staff_event
from tenants.db import tenant_scope


@pytest.fixture()
def published(app_ctx):
    """The messages the live processes would receive on the Socket.IO channel."""
    config = current_app.config["TOWNHALL"]
    pubsub = redis.Redis.from_url(config.redis_url).pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(config.socketio_channel)
    pubsub.get_message(timeout=1)

    def read() -> list[dict]:
        messages = []
        while (message := pubsub.get_message(timeout=0.5)) is not None:
            messages.append(json.loads(message["data"]))
        return messages
    yield read
    pubsub.close()


def test_a_transactions_events_are_numbered_in_order_and_published_together(make_world, published):
    world = make_world()
    resident = world.join()
    with tenant_scope(world.tenant.id) as tx:
        question = actions.submit_question(tx, resident, "Why is the station closing?")
    published()
    with tenant_scope(world.tenant.id) as tx:
        actions.approve_question(tx, world.moderator, question["id"])
        append_room_event(tx, world.room["id"], "test.second", {"n": 2})
        append_staff_event(tx, world.room["id"], "test.staff", {"n": 3})

    messages = published()
    assert len(messages) == 1 and messages[0]["method"] == EMIT_BATCH   # one PUBLISH for the transaction
    emits = [(m["event"], m["room"], m["data"][0]) for m in messages[0]["messages"]]
    room_events = [data for event, _, data in emits if event == "room_event"]
    staff_events = [data for event, _, data in emits if event == "staff_event"]
    assert [e["type"] for e in room_events] == ["question.published", "test.second"]
    assert room_events[1]["seq"] == room_events[0]["seq"] + 1
    assert [e["type"] for e in staff_events] == ["question.moderated", "test.staff"]
    assert [event for event, _, _ in emits] == ["room_event", "staff_event", "my_question",   # in the order made
                                                "room_event", "staff_event"]
    with tenant_scope(world.tenant.id) as tx:
        stored = tx.all("select seq, type, data from room_events where room_id = %s and seq >= %s order by seq",
                        [world.room["id"], room_events[0]["seq"]])
        staff_stored = tx.all("select seq, type from staff_events where room_id = %s and seq >= %s order by seq",
                              [world.room["id"], staff_events[0]["seq"]])
    assert [(r["seq"], r["type"], r["data"]) for r in stored] == [(e["seq"], e["type"], e["data"]) for e in room_events]
    assert [(r["seq"], r["type"]) for r in staff_stored] == [(e["seq"], e["type"]) for e in staff_events]


def test_a_rolled_back_transaction_logs_and_publishes_nothing(make_world, published):
    world = make_world()
    with tenant_scope(world.tenant.id) as tx:
        before = tx.value("select last_seq from rooms where id = %s", [world.room["id"]])
    published()
    with pytest.raises(RuntimeError), tenant_scope(world.tenant.id) as tx:
        append_room_event(tx, world.room["id"], "test.doomed", {})
        raise RuntimeError("the action failed after queueing its event")
    assert published() == []
    with tenant_scope(world.tenant.id) as tx:
        assert tx.value("select last_seq from rooms where id = %s", [world.room["id"]]) == before
        assert tx.value("select count(*) from room_events where type = 'test.doomed'") == 0
