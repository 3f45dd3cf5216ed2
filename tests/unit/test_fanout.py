"""The live fan-out fast path builds WebSocket frames itself: they must be exactly what wsproto sends."""
from __future__ import annotations

import pytest
from engineio import packet as eio_packet
from wsproto import ConnectionType
from wsproto.connection import Connection
from wsproto.events import TextMessage

from services.live.fanout import Frame, shared_frame, text_frame


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
