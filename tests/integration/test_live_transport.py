"""The live process's own WebSocket transport (services/web/live/transport.py), through a real live process:
one descriptor per connection, released on close; Engine.IO pings from the shared pinger; whole and
fragmented messages; the size limit; and the long-polling client that upgrades (stock handler)."""
from __future__ import annotations

import os
import socket
import time

import pytest
import socketio
import websocket

from services.live import actions
from services.web.live.transport import LeanWebSocket
from tenants.db import tenant_scope
from tests.support.live_client import raw_ws
from tests.support.servers import start_server
from tests.support.workers import wait_until


def descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@pytest.fixture(scope="module")
def live(env, tmp_path_factory):
    server = start_server("live", env, tmp_path_factory.mktemp("live-transport"))
    yield server
    server.stop()


def test_one_descriptor_per_connection_released_when_it_closes(live):
    raw_ws(live.url).close()  # warm up: the first connection starts the pinger and service task
    time.sleep(0.5)
    before = descriptors(live.proc.pid)
    sockets = [raw_ws(live.url) for _ in range(30)]
    held = descriptors(live.proc.pid) - before
    assert 30 <= held <= 32, held  # one each (simple-websocket's dup() made it two)
    for ws in sockets:
        ws.close()
    wait_until(lambda: descriptors(live.proc.pid) <= before + 2, 10, message="descriptors released")


def test_writes_are_not_held_back_by_nagles_algorithm():
    """A small frame (an acknowledgement) written while the previous one is unacknowledged must go
    at once, not after the client's delayed ACK (40 ms): the transport turns Nagle off."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        accepted, _ = listener.accept()
        with client, accepted:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
            LeanWebSocket(None, None)._attach(accepted)
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


def test_fragmented_and_oversized_messages(live):
    ws = raw_ws(live.url)
    ws.send_frame(websocket.ABNF.create_frame("4", websocket.ABNF.OPCODE_TEXT, fin=0))
    ws.send_frame(websocket.ABNF.create_frame('0{"token":"nonsense"}', websocket.ABNF.OPCODE_CONT, fin=1))
    reply = ws.recv()
    assert reply.startswith("44") and "expired" in reply  # the reassembled CONNECT reached Socket.IO
    ws.send("4" + "x" * (64 * 1024 + 10))  # over max_http_buffer_size
    with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError)):
        while True:
            opcode, _ = ws.recv_data(control_frame=True)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                break
        ws.recv()


@pytest.mark.timeout(60)
def test_the_server_pings_and_a_pong_keeps_the_connection(live):
    ws = raw_ws(live.url)
    ws.settimeout(35)
    assert ws.recv() == "2"   # Engine.IO ping after pingInterval (25 s), from the shared pinger
    ws.send("3")
    ws.send('40{"token":"nonsense"}')
    assert ws.recv().startswith("44")  # still served after the ping cycle
    ws.close()


def test_a_polling_client_that_upgrades_gets_its_state_and_events(app_ctx, make_world, live):
    world = make_world()
    resident = world.join("Polly")
    got: dict = {"state": None, "events": []}
    client = socketio.Client(reconnection=False)
    client.on("my_state", lambda state: got.__setitem__("state", state))
    client.on("room_event", lambda event: got["events"].append(event))
    client.connect(live.url, transports=["polling", "websocket"],
                   auth={"token": world.resident_token(resident), "last_seq": world.room["last_seq"]}, wait_timeout=10)
    try:
        wait_until(lambda: got["state"] is not None and client.transport() == "websocket", 10,
                   message="state received and the transport upgraded")
        with tenant_scope(world.tenant.id) as tx:
            actions.post_announcement(tx, world.host, world.room["id"], "Upgraded")
        wait_until(lambda: any(e["type"] == "announcement.posted" for e in got["events"]), 10,
                   message="the announcement over the upgraded transport")
    finally:
        client.disconnect()
