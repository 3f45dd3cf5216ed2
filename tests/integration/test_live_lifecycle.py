"""A live process stopping (SIGTERM) loses no event, directly and behind a real nginx with two
live processes and a web process: the production shape on loopback."""
from __future__ import annotations

import signal
import time

import pytest
import requests

from services.live import actions
from tenants.db import tenant_scope
from tests.support.prom import scrape, value
from tests.support.proxy import start_nginx
from tests.support.servers import start_server
from tests.support.workers import wait_until

DRAIN = 6


def announce(world, *texts: str) -> None:
    with tenant_scope(world.tenant.id) as tx:
        for text in texts:
            actions.post_announcement(tx, world.host, world.room["id"], text)


def stop_and_time(server) -> tuple[int, float]:
    started = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    code = server.proc.wait(DRAIN + 5)
    return code, time.monotonic() - started


def seqs_of(*received) -> set[int]:
    return {e["seq"] for client in received for e in client.room_events}


def test_sigterm_drains_within_the_grace_period_and_clients_resume_elsewhere(app_ctx, make_world, live_pair,
                                                                              clients, env, tmp_path):
    doomed = start_server("live", env, tmp_path, extra_env={"LIVE_DRAIN_SECONDS": str(DRAIN)})
    try:
        world = make_world()
        last = world.room["last_seq"]
        people = [world.join(f"Resident {i}") for i in range(3)]
        first = [clients(doomed.url, world.resident_token(p), last_seq=last) for p in people]
        announce(world, "Before")
        for c in first:
            c.wait_for(lambda c=c: c.events_of("announcement.posted"))

        code, took = stop_and_time(doomed)
        assert code == 0 and took < DRAIN, (code, took, doomed.log())
        for c in first:
            wait_until(lambda c=c: not c.sio.connected, 5, message="the client to be disconnected")
        with pytest.raises(requests.ConnectionError):  # stopped accepting
            requests.get(f"{doomed.url}/healthz", timeout=2)

        announce(world, "While away 1", "While away 2")
        again = [clients(live_pair[0].url, world.resident_token(p), last_seq=c.seqs()[-1])
                 for p, c in zip(people, first)]
        announce(world, "After")
        for old, new in zip(first, again):
            new.wait_for(lambda n=new: n.events_of("announcement.posted") and n.events_of("announcement.posted")[-1]["data"]["body"] == "After")
            bodies = [e["data"]["body"] for e in old.room_events + new.room_events if e["type"] == "announcement.posted"]
            assert bodies == ["Before", "While away 1", "While away 2", "After"]
            assert seqs_of(old, new) == set(range(last + 1, last + 5))
    finally:
        doomed.stop()


def test_room_across_two_live_processes_behind_nginx_survives_a_stop(app_ctx, make_world, env, tmp_path, clients):
    lives = [start_server("live", env, tmp_path, extra_env={"LIVE_DRAIN_SECONDS": str(DRAIN)}) for _ in range(2)]
    web = start_server("web", env, tmp_path, extra_env={"WEB_CONCURRENCY": "1"})
    proxy = start_nginx(tmp_path / "nginx", web.port, [s.port for s in lives])
    try:
        world = make_world()
        last = world.room["last_seq"]
        page = requests.get(f"{proxy.url}/t/{world.tenant.slug}/rooms/{world.room['id']}", timeout=10)
        assert page.status_code == 200 and "Ask the Commissioner" in page.text  # / goes to web
        assert requests.get(f"{proxy.url}/metrics", timeout=5).status_code == 404  # not public

        people = [world.join(f"Resident {i}") for i in range(4)]
        residents = [clients(proxy.url, world.resident_token(p), last_seq=last, reconnection=True) for p in people]
        moderator = clients(proxy.url, world.staff_token(world.moderator), last_seq=last, staff_last_seq=0,
                            reconnection=True)
        host = clients(proxy.url, world.staff_token(world.host), last_seq=last, staff_last_seq=0, reconnection=True)
        tenant = str(world.tenant.id)
        per_process = [_connected(s, tenant) for s in lives]
        assert sum(per_process) == 4 and min(per_process) >= 1, per_process  # the room spans both processes

        def ask_approve_answer(asker, text: str, answer: str) -> None:
            asked = asker.call("ask", {"body": text})
            assert asked["ok"] is True, asked
            wait_until(lambda: moderator.sio.connected, 10, message="the moderator to be connected")
            assert moderator.call("approve", {"question_id": asked["id"]})["ok"] is True
            assert host.call("answer", {"question_id": asked["id"], "body": answer})["ok"] is True

        ask_approve_answer(residents[0], "Will the precept rise?", "By 3%.")
        for r in residents:
            r.wait_for(lambda r=r: r.events_of("question.answered"))

        doomed = lives[0]
        code, took = stop_and_time(doomed)
        assert code == 0 and took < DRAIN, (code, took, doomed.log())
        announce(world, "Published while some were reconnecting")
        for r in residents + [moderator, host]:
            wait_until(lambda r=r: r.sio.connected, 15, message="the client to reconnect through nginx")
        assert _connected(lives[1], tenant) == 4  # everyone resumed on the survivor
        survivor_asker = residents[3]
        ask_approve_answer(survivor_asker, "What about rural patrols?", "Two more teams.")

        final = {e["seq"] for e in residents[3].wait_for(
            lambda: len(residents[3].events_of("question.answered")) == 2 and residents[3].room_events)}
        expected = set(range(last + 1, max(final) + 1))
        for r in residents:
            r.wait_for(lambda r=r: seqs_of(r) >= expected)
            assert seqs_of(r) == expected  # nothing lost, nothing extra
            answers = {e["seq"]: e["data"]["body"] for e in r.events_of("question.answered")}  # repeats ignored
            assert list(answers.values()) == ["By 3%.", "Two more teams."]
            assert r.connects >= 1
        assert sum(r.connects for r in residents) > len(residents)  # some did reconnect
    finally:
        proxy.stop()
        for server in [*lives, web]:
            server.stop()


def _connected(server, tenant: str) -> float:
    return value(scrape(server.url), "townhall_live_connected_residents", tenant=tenant) or 0
