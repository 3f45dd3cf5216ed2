"""Fan-out fast path for the live process: one WebSocket frame per broadcast, written straight out.

Stock python-socketio already encodes a room broadcast once (one Engine.IO packet object shared by
every recipient), but then each recipient cost a gevent queue put, a switch to that socket's writer
greenlet, a queue poll with a timeout, a WebSocket frame built by wsproto, and the send. Profiling a
1,000-resident fan-out showed those steps at about half of the live process's CPU.

Here the WebSocket text frame of a shared packet is built once per broadcast (server-to-client
frames are unmasked, so the bytes are the same for every recipient, and permessage-deflate is not
offered) and kept on the packet; the live transport (services/web/live/transport.py) writes it to each
recipient's socket with one non-blocking send, from the emitting greenlet, in order.
Long-polling, acks and binary packets take the stock path unchanged.

It also gives the manager an index of each client's rooms: stock `basic_disconnect` scans every
room of the namespace, and every client has its own room, so N disconnects (a refused join storm,
a server restart) cost O(N^2); with the index each costs O(rooms of that client).
"""
from __future__ import annotations

import gevent
from engineio import packet as eio_packet
from gevent.lock import RLock
from wsproto.frame_protocol import FrameProtocol

from services.web.live import transport
from services.web.live.transport import Frame

YIELD_EVERY = 250  # recipients between two yields to the other greenlets during a broadcast
_FRAMES = FrameProtocol(client=False, extensions=[])  # whole server frames only: keeps no state between calls


def text_frame(text: str) -> bytes:
    """A final, unmasked WebSocket text frame (RFC 6455 5.2) holding `text`."""
    return bytes(_FRAMES.send_data(text, fin=True))


def shared_frame(pkt) -> Frame:
    """The packet's encoding as a Frame, built on the first recipient and reused for the rest."""
    cached = pkt.encode_cache
    if type(cached) is Frame:
        return cached
    frame = Frame(pkt.encode())
    frame.frame = text_frame(frame)
    pkt.encode_cache = frame  # pkt.encode() now returns the Frame
    return frame


def index_rooms(manager) -> None:
    """Keep (namespace, sid) -> rooms beside the manager's rooms, and disconnect through it."""
    index: dict[tuple, set] = {}
    enter, leave = manager.basic_enter_room, manager.basic_leave_room

    def basic_enter_room(sid, namespace, room, eio_sid=None):
        result = enter(sid, namespace, room, eio_sid=eio_sid)
        index.setdefault((namespace, sid), set()).add(room)
        return result

    def basic_leave_room(sid, namespace, room):
        result = leave(sid, namespace, room)
        rooms = index.get((namespace, sid))
        if rooms is not None:
            rooms.discard(room)
            if not rooms:
                del index[(namespace, sid)]
        return result

    def basic_disconnect(sid, namespace, **kwargs):
        # the stock method, with the scan of every room replaced by this client's own rooms
        if namespace not in manager.rooms:
            return
        for room in list(index.get((namespace, sid), ())):
            basic_leave_room(sid, namespace, room)
        manager.callbacks.pop(sid, None)
        for pending in (manager.pending_connect, manager.pending_disconnect):
            if sid in pending.get(namespace, ()):
                pending[namespace].remove(sid)
                if not pending[namespace]:
                    del pending[namespace]

    manager.basic_enter_room = basic_enter_room
    manager.basic_leave_room = basic_leave_room
    manager.basic_disconnect = basic_disconnect


def pace_broadcasts(manager) -> None:
    """Let other greenlets run during a broadcast to a large room, without reordering anything.

    Writes never block, so a broadcast to 5,000 sockets would hold the process for its whole length
    (tens of milliseconds, more on a loaded machine): the publisher's next transaction, joins and
    pings would wait behind every broadcast. The manager's emit loop iterates over
    `get_participants`; for a room larger than YIELD_EVERY this yields to the hub after each slice,
    and holds a lock for the whole broadcast, so large broadcasts still go out one after the other
    in the order they started (each socket gets room events in order). Small emits are unchanged."""
    stock = manager.get_participants
    lock = RLock()

    def get_participants(namespace, room):
        participants = list(stock(namespace, room))  # the stock method iterates over a copy too
        if len(participants) <= YIELD_EVERY:
            yield from participants
            return
        with lock:
            for start in range(0, len(participants), YIELD_EVERY):
                yield from participants[start:start + YIELD_EVERY]
                gevent.sleep(0)

    manager.get_participants = get_participants


def install(server) -> None:
    """Put the fast path and the live transport into a python-socketio Server (gevent mode)."""
    index_rooms(server.manager)
    eio = server.eio
    if eio.async_mode != "gevent":
        return
    transport.install(eio)
    pace_broadcasts(server.manager)
    stock = server._send_eio_packet

    sockets = eio.sockets

    def send_eio_packet(eio_sid, pkt):
        if pkt.packet_type == eio_packet.MESSAGE and not pkt.binary:
            frame = shared_frame(pkt)
            sock = sockets.get(eio_sid)
            out = getattr(sock, "queue", None)
            if type(out) is transport.LeanWebSocket and not sock.closed:
                # what Engine.IO's send_packet and Socket.send do, minus their per-recipient lookups,
                # log call and queue: the ping time-out check, then the shared frame to the socket
                if sock.check_ping_timeout():
                    out.put_frame(frame.frame)
                return None
        return stock(eio_sid, pkt)

    server._send_eio_packet = send_eio_packet
