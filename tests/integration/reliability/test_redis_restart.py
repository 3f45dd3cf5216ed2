"""Redis killed and restarted on the same port during a live session, under two live processes."""
from __future__ import annotations

import time

from tenants.db import tenant_scope
from tests.support.redis_server import RedisProcess
from tests.support.servers import start_server


def _head(world) -> int:
    with tenant_scope(world.tenant.id) as tx:
        return tx.value("select last_seq from rooms where id = %s", [world.room["id"]])


def _subscribers(redis_proc, channel) -> int:
    return dict(redis_proc.client().pubsub_numsub(channel)).get(channel.encode(), 0)


def test_redis_restart_loses_nothing_and_live_processes_resubscribe(app_ctx, env, make_world, resilient, channel,
                                                                     tmp_path):
    redis_proc = RedisProcess(tmp_path / "redis").start()
    extra = {"REDIS_URL": redis_proc.url, "SOCKETIO_CHANNEL": channel}
    servers = [start_server("live", env, tmp_path, extra_env=extra) for _ in range(2)]
    try:
        world = make_world()
        start = world.room["last_seq"]
        r1 = resilient(servers[0].url, world.resident_token(world.join("Avery")), last_seq=start)
        r2 = resilient(servers[1].url, world.resident_token(world.join("Blake")), last_seq=start)
        staff = resilient(servers[0].url, world.staff_token(world.host), last_seq=start, staff_last_seq=0)
        clients = (r1, r2, staff)
        deadline = time.monotonic() + 10
        while _subscribers(redis_proc, channel) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _subscribers(redis_proc, channel) == 2

        bodies = []
        def announce(text):
            reply = staff.call("announce", {"body": text})
            assert reply["ok"], reply
            bodies.append(text)

        announce("before the outage")
        question = r1.call("ask", {"body": "Will you hold a chat in Welsh?"})
        assert question["ok"]
        for c in clients:
            c.wait_for(lambda c=c: c.room.last_seq >= start + 1, what="the first announcement")
        staff.wait_for(lambda: staff.staff.last_seq >= 1, what="the submitted question")

        redis_proc.kill()
        during = []
        for i in range(3):
            t0 = time.monotonic()
            announce(f"during the outage {i}")
            during.append(time.monotonic() - t0)
        assert max(during) < 1.5, f"commands stalled while Redis was down: {during}"
        assert staff.call("reject", {"question_id": question["id"], "reason": "off_topic"})["ok"]
        # the rate-limit store is down: a clear "try again" with a hint, not an internal error
        asked = r1.call("ask", {"body": "Is anyone there?"})
        assert asked["ok"] is False and asked["error"] == "unavailable" and asked["details"]["retry_after"] > 0
        redis_proc.start()
        # no further traffic: the events written while Redis was down must still arrive
        head, staff_head = _head(world), 2
        for c in clients:
            c.wait_for(lambda c=c: c.room.last_seq >= head, timeout=15, what=f"catch-up to seq {head}")
        staff.wait_for(lambda: staff.staff.last_seq >= staff_head, what="the staff stream's catch-up")
        r1.wait_for(lambda: any(m["kind"] == "rejected" for m in r1.private.values()),
                    what="the private rejection sent while Redis was down")
        assert r1.my_questions[question["id"]]["status"] == "rejected"
        deadline = time.monotonic() + 10
        while _subscribers(redis_proc, channel) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _subscribers(redis_proc, channel) == 2, "a live process did not re-subscribe after Redis returned"
        announce("after the outage")
        for c in clients:
            c.wait_for(lambda c=c: c.room.last_seq >= head + 1, what="a live event after the restart")
        for c in clients:
            assert c.room.applied == list(range(start + 1, head + 2))
            assert [e["data"]["body"] for e in c.room.events] == bodies
        assert staff.staff.applied == [1, 2]
        with tenant_scope(world.tenant.id) as tx:
            assert tx.value("select count(*) from announcements") == len(bodies)
            assert tx.value("select count(*) from questions") == 1
    finally:
        resilient.close_all()
        for s in servers:
            s.stop()
        redis_proc.stop()
