"""A live process killed (SIGKILL) mid-session: its clients reconnect to another and miss nothing."""
from __future__ import annotations

import signal
import threading
import time

from tenants.db import tenant_scope
from tests.support.servers import start_server
from tests.support.tcp_proxy import TcpProxy


def test_clients_of_a_killed_live_process_resume_on_another(app_ctx, env, make_world, live_pair, resilient,
                                                            clients, tmp_path):
    doomed = start_server("live", env, tmp_path)
    survivor = live_pair[0]
    ingress = TcpProxy([doomed.port, survivor.port])
    try:
        world = make_world()
        start = world.room["last_seq"]
        residents = [resilient(ingress.url, world.resident_token(world.join(f"Resident {n}")), last_seq=start)
                     for n in range(3)]
        moderator = resilient(ingress.url, world.staff_token(world.moderator), last_seq=start, staff_last_seq=0)
        watchers = [*residents, moderator]
        host = clients(survivor.url, world.staff_token(world.host))  # publishes throughout, from the survivor

        bodies: list[str] = []
        failures: list[dict] = []
        stop = threading.Event()

        def publish():
            n = 0
            while not stop.is_set():
                reply = host.call("announce", {"body": f"update {n}"})
                (bodies.append(f"update {n}") if reply["ok"] else failures.append(reply))
                n += 1
                time.sleep(0.05)

        publisher = threading.Thread(target=publish)
        publisher.start()
        try:
            for w in watchers:
                w.wait_for(lambda w=w: w.room.last_seq >= start + 3, what="the first updates")
            doomed.stop(signal.SIGKILL)
            for w in watchers:
                w.wait_for(lambda w=w: w.connects >= 2, what="a reconnection to the surviving process")
            time.sleep(1)
        finally:
            stop.set()
            publisher.join(10)
        assert not failures
        with tenant_scope(world.tenant.id) as tx:
            head = tx.value("select last_seq from rooms where id = %s", [world.room["id"]])
        assert head == start + len(bodies)
        for w in watchers:
            w.wait_for(lambda w=w: w.room.last_seq >= head, what=f"every update up to seq {head}")
            assert w.room.applied == list(range(start + 1, head + 1))
            assert [e["data"]["body"] for e in w.room.events] == bodies
            assert w.disconnects >= 1
    finally:
        resilient.close_all()
        ingress.close()
        doomed.stop()
