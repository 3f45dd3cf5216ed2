"""The live fan-out fast path builds WebSocket frames itself: they must be exactly what wsproto sends."""
from __future__ import annotations

import pytest
from engineio import packet as eio_packet
from wsproto import ConnectionType
from wsproto.connection import Connection
from wsproto.events import TextMessage

from services.web.live.fanout import Frame, index_rooms, shared_frame, text_frame


@pytest.mark.parametrize("text", ["", "4", "x" * 125, "x" * 126, "é" * 40000, "y" * 65535, "z" * 65536, "42[\"room_event\",{}]"])
def test_text_frame_is_the_frame_wsproto_sends_and_a_client_reads_it(text):
    server = Connection(ConnectionType.SERVER)
    assert text_frame(text) == server.send(TextMessage(data=text))
    client = Connection(ConnectionType.CLIENT)
    client.receive_data(text_frame(text))
    received = "".join(e.data for e in client.events())
    assert received == text


def test_shared_frame_is_built_once_and_is_what_the_writer_encodes():
    pkt = eio_packet.Packet(eio_packet.MESSAGE, '2["room_event",{"seq":7}]')
    first = shared_frame(pkt)
    assert type(first) is Frame and first == '42["room_event",{"seq":7}]'
    assert shared_frame(pkt) is first and pkt.encode() is first
    assert first.frame == text_frame('42["room_event",{"seq":7}]')


def test_room_index_disconnect_leaves_exactly_the_clients_rooms():
    from socketio import Manager

    indexed, stock = Manager(), Manager()
    for manager in (indexed, stock):
        manager.server = type("S", (), {"eio": type("E", (), {"generate_id": staticmethod(lambda: None)})()})()
    index_rooms(indexed)
    for manager in (indexed, stock):
        for n in range(5):
            sid, eio_sid = f"s{n}", f"e{n}"
            manager.basic_enter_room(sid, "/", None, eio_sid=eio_sid)
            manager.basic_enter_room(sid, "/", sid, eio_sid=eio_sid)
            manager.basic_enter_room(sid, "/", "room:1")
            manager.basic_enter_room(sid, "/", f"participant:{n % 2}")
        manager.basic_leave_room("s1", "/", "room:1")
        manager.basic_close_room("participant:0", "/")
        manager.pending_disconnect["/"] = ["s3"]
        manager.basic_disconnect("s3", "/")
        manager.basic_disconnect("s4", "/")
    assert {k: dict(v) for k, v in indexed.rooms["/"].items()} == {k: dict(v) for k, v in stock.rooms["/"].items()}
    assert set(indexed.rooms["/"]["room:1"]) == {"s0", "s2"}
    assert "s3" not in indexed.rooms["/"][None] and "s3" not in indexed.rooms["/"]
    assert indexed.pending_disconnect == stock.pending_disconnect == {}


def test_large_broadcasts_yield_between_slices_but_never_interleave():
    import gevent

    from services.web.live.fanout import YIELD_EVERY, pace_broadcasts

    members = [(f"s{n}", f"e{n}") for n in range(YIELD_EVERY * 4 + 7)]
    manager = type("M", (), {"get_participants": lambda self, ns, room: iter(members if room == "big" else members[:3])})()
    pace_broadcasts(manager)
    log: list = []

    def broadcast(seq, room="big"):
        for sid, _ in manager.get_participants("/", room):
            log.append((seq, sid))

    def other():
        log.append(("other", None))

    first, second = gevent.spawn(broadcast, 1), gevent.spawn(broadcast, 2)
    gevent.spawn(other)
    small = gevent.spawn(broadcast, 3, "small")
    gevent.joinall([first, second, small])
    seqs = [seq for seq, _ in log if seq in (1, 2)]
    assert seqs == [1] * len(members) + [2] * len(members)  # one broadcast after the other: order kept
    assert log.index(("other", None)) < len(members)        # ...but others ran during the first one
    assert [sid for seq, sid in log if seq == 3] == ["s0", "s1", "s2"]  # small emits are not paced
