"""Property-based tests over every Socket.IO event (commands.RESIDENT_COMMANDS, STAFF_COMMANDS
and `resume`, read from the code so new commands are covered), over a real live server: hostile
payloads always get an acknowledgement {"ok": ...}, never an internal error, and a refusal
writes nothing."""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from services.live import actions
from services.live.commands import RESIDENT_COMMANDS, STAFF_COMMANDS
from services.live.schemas import ResumeSchema
from tenants.db import tenant_scope
from tests.support.live_client import LiveClient, close_all
from tests.support.nasty import budget, json_values, payloads
from tests.support.rows import row_counts
from tests.support.servers import start_server
from tests.support.workers import wait_until
from tests.support.worlds import build_world

EVENTS = ([(name, "resident", c.schema) for name, c in RESIDENT_COMMANDS.items()]
          + [(name, "staff", c.schema) for name, c in STAFF_COMMANDS.items()]
          + [("resume", "resident", ResumeSchema), ("resume", "staff", ResumeSchema)])
MAX_MESSAGE = 60_000  # the live server closes connections sending more than 64 KB (tested below)


@pytest.fixture(scope="module")
def target(app, env, tmp_path_factory):
    """A live room with a published and a pending question and an open poll, so generated ids can
    hit real rows; and one connection per kind of caller, shared by every event (room_state, which
    may close the room, runs after the other commands). The live process has no per-connection
    event budget: what is under test here is every handler's answer, not the flood guard."""
    live = start_server("live", env, tmp_path_factory.mktemp("fuzz"), extra_env={"LIVE_EVENTS_PER_SECOND": "1000000"})
    try:
        with app.app_context():
            yield from _target(live.url)
    finally:
        live.stop()


def _target(url):
    world = build_world()
    author = world.join("Quinn")
    with tenant_scope(world.tenant.id) as tx:
        published = actions.submit_question(tx, author, "Published question?")
        actions.approve_question(tx, world.moderator, published["id"])
        pending = actions.submit_question(tx, author, "Pending question?")
        poll = actions.open_poll(tx, world.host, world.room["id"], "Which night?", "single", ["Tue", "Thu"], "live")
    ids = {"question_id": [str(published["id"]), str(pending["id"])], "poll_id": [str(poll["id"])],
           "assignee_id": [str(world.moderator.id), str(world.host.id)], "option_ids": [[1], [2], [1, 2]]}
    conns = {"resident": LiveClient(url, world.resident_token(world.join("Riley"))).connect(),
             "staff": LiveClient(url, world.staff_token(world.admin), staff_last_seq=0).connect()}
    wait_until(lambda: _metered(world), message="the resident's connection metered")   # written in batches

    yield world, ids, conns
    close_all(list(conns.values()), "disconnect")


def _metered(world) -> bool:
    with tenant_scope(world.tenant.id) as tx:
        return tx.value("select count(*) from room_presence where room_id = %s", [world.room["id"]]) == 1


@pytest.mark.parametrize("event, kind, schema", EVENTS, ids=[f"{k}:{e}" for e, k, _ in EVENTS])
@settings(max_examples=budget(60), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_hostile_payloads_are_answered_and_refusals_write_nothing(app_ctx, owner_db, target, event, kind, schema,
                                                                   data):
    world, ids, conns = target
    payload = data.draw(st.one_of(payloads(schema, ids), st.tuples(payloads(schema, ids), json_values),
                                  st.just((None,))), label="payload")
    assume(len(json.dumps(payload, default=str)) < MAX_MESSAGE)
    before = row_counts(owner_db, world.tenant.id)
    ack = conns[kind].call(event, payload)
    assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool), ack
    assert ack.get("error") != "internal", f"{event} raised an unhandled exception for {payload!r}"
    if not ack["ok"]:
        assert isinstance(ack.get("message"), str) and ack["message"]
        assert row_counts(owner_db, world.tenant.id) == before, f"{event} refused but wrote rows"


def test_unknown_events_and_oversized_messages(app_ctx, make_world, live_pair, clients):
    world = make_world()
    resident = clients(live_pair[0].url, world.resident_token(world.join()))
    assert resident.call("no_such_event", {"x": 1}) == {"ok": False, "error": "unknown_event",
                                                        "message": "That action does not exist."}
    assert resident.call("ask", ({"body": "one"}, {"body": "two"}))["message"] == "Send one object of fields."
    resident.sio.emit("ask", {"body": "x" * 70_000})   # over the 64 KB limit: the server drops the connection
    resident.sio.sleep(1)
    assert not resident.sio.connected
    again = clients(live_pair[0].url, world.resident_token(world.join()))
    assert again.call("ask", {"body": "Still working?"})["ok"]
