"""The live process's WebSocket transport for Engine.IO: one greenlet per idle connection, one descriptor.

Stock python-engineio on gevent with simple-websocket keeps, for every WebSocket: the pywsgi
handler greenlet, simple-websocket's reader "thread" (a greenlet) on a dup()ed socket (so two
descriptors), Engine.IO's writer greenlet waiting on a queue, a greenlet sleeping until the next
ping, and a gevent queue and event. At 10,000 residents that was about 78 KB per connection and
40,000 greenlets. Here, for a client that connects with `transport=websocket` (the harness and the
page's socket.io client after its first connection):

* the WebSocket protocol is wsproto's (already the library under simple-websocket): its
  `H11Handshake` accepts the upgrade pywsgi has parsed, its `Connection` parses and builds frames;
* the pywsgi handler greenlet reads the socket itself and hands each message to Engine.IO's own
  `Socket.receive`, so there is no reader greenlet and no duplicated descriptor;
* this object replaces the Engine.IO socket's queue: `put(packet)` writes the frame at once with a
  non-blocking send, whatever the kernel does not take waits in a buffer that a libev write watcher
  flushes (no writer greenlet, no queue); writes never block the caller and never interleave, so
  per-connection order is kept;
* `Pinger` sends every connection's Engine.IO ping from one greenlet instead of a greenlet per
  connection per ping cycle.

Engine.IO and Socket.IO semantics (packets, ping timeouts, close reasons, the handlers) stay
python-engineio's and python-socketio's. A connection that starts with long-polling and upgrades
(Engine.IO's probe handshake) keeps the stock handler and its writer greenlet, with this class as
its WebSocket (still no reader greenlet, no dup).
"""
from __future__ import annotations

import heapq
import itertools
import logging
import time

import gevent
from gevent import socket
from gevent.pywsgi import WSGIHandler
from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet
from engineio import socket as eio_socket
from gevent.event import Event
from wsproto import ConnectionType
from wsproto.connection import ConnectionState
from wsproto.events import AcceptConnection, BytesMessage, CloseConnection, Message, Ping, Request, TextMessage
from wsproto.frame_protocol import CloseReason
from wsproto.handshake import H11Handshake
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

log = logging.getLogger(__name__)

RECEIVE_BYTES = 4096
CLOSE_TIMEOUT = 10.0  # seconds a closed connection's unsent frames may wait for a peer that stopped reading
_HANDSHAKE_HEADERS = ("HTTP_HOST", "HTTP_UPGRADE", "HTTP_CONNECTION", "HTTP_SEC_WEBSOCKET_KEY",
                      "HTTP_SEC_WEBSOCKET_VERSION", "HTTP_SEC_WEBSOCKET_PROTOCOL")
_WRITE = 2  # libev EV_WRITE


class Frame(str):
    """An encoded Engine.IO packet that also carries its ready WebSocket frame bytes (shared by a
    broadcast's recipients: server-to-client frames are unmasked, so the bytes are the same)."""

    __slots__ = ("frame",)


class LeanWebSocket:
    """Engine.IO's `websocket` class for gevent, and (for a direct WebSocket) the socket's queue."""

    __slots__ = ("app", "server", "eio", "_sock", "raw", "conn", "pending", "watcher", "flushed",
                 "finishing", "dead", "inbox", "fragments", "owned")

    def __init__(self, handler, server):
        self.app = handler          # the Engine.IO socket's bound _websocket_handler
        self.server = server
        self.eio = getattr(handler, "__self__", None)
        self.pending = None         # bytearray of frames the kernel has not taken yet
        self.watcher = None
        self.flushed = None
        self.finishing = False
        self.dead = False
        self.inbox = None           # whole messages read but not yet handed to Engine.IO
        self.fragments = None       # the parts of a fragmented message while it arrives
        self.owned = False          # True once the reader is done with a descriptor taken from pywsgi

    # -- the WSGI side ---------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        rfile = environ.get("wsgi.input")
        sock = getattr(getattr(rfile, "raw", None), "_sock", None)
        if sock is None:
            raise RuntimeError("the live transport needs gevent's pywsgi server")
        accepted = _accept(environ)
        if accepted is None:
            start_response("400 Bad Request", [("Content-Type", "text/plain")])
            return [b"Bad WebSocket handshake"]
        self.conn, response = accepted
        eio = self.eio
        handler = getattr(start_response, "__self__", None)
        if eio is None or eio.connected or not isinstance(handler, WSGIHandler):
            # an upgrade from long-polling: Engine.IO's own handler does the probe exchange, with
            # its writer greenlet; it reads through wait() and writes through send()
            self._attach(sock)
            sock.sendall(response)
            try:
                return self.app(self)
            finally:
                self._shutdown()
        # A direct WebSocket. The connection leaves pywsgi: this object takes the descriptor and
        # serves it from a new greenlet with a shallow stack, and pywsgi's handler greenlet ends
        # now, freeing its deep stack, its 8 KB read buffer, the parsed headers and request.
        own = socket.socket(sock.family, sock.type, sock.proto, fileno=sock.detach())
        handler.close_connection = True
        rfile.close()
        self._attach(own)
        try:
            own.sendall(response)
        except OSError:  # the client left during the handshake
            own.close()
            eio.close(wait=False, abort=True, reason=eio.server.reason.TRANSPORT_CLOSE)
            eio.server.sockets.pop(eio.sid, None)
            return []
        own.settimeout(self.server.ping_interval + self.server.ping_timeout)
        gevent.spawn(self._serve, eio)
        return []

    def _attach(self, sock) -> None:
        self._sock = sock
        self.raw = sock._sock if hasattr(sock, "_sock") else sock  # the OS socket, non-blocking under gevent
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            # Every write is a whole frame, so there is nothing for Nagle's algorithm to merge: with
            # it, a small frame (an acknowledgement) written while the previous one is unacknowledged
            # waited for the client's delayed ACK, 40 ms on Linux: a moderator's approve took 45 ms.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _serve(self, eio):
        """A direct WebSocket: this greenlet reads, `put` writes, nothing else runs per connection."""
        eio.connected = True
        eio.upgraded = True
        queued, eio.queue = eio.queue, self   # the OPEN packet is already in the stock queue
        while not queued.empty():
            self.put(queued.get_nowait())
        del queued
        try:
            while not eio.closed:
                data = self.wait()
                if data is None:
                    break
                try:
                    eio.receive(eio_packet.Packet(encoded_packet=data))
                except eio_exceptions.UnknownPacketError:
                    pass
                except eio_exceptions.SocketIsClosedError:
                    break
                except Exception:
                    log.exception("live transport: unexpected error handling a packet")
                    break
        except Exception as exc:  # a socket error or time-out: the client is gone
            if not eio.closed:
                log.info("%s: transport error %r, closing", eio.sid, exc)
        finally:
            eio.close(wait=False, abort=True, reason=eio.server.reason.TRANSPORT_CLOSE)
            eio.server.sockets.pop(eio.sid, None)
            self.finish()
            self.owned = True  # the descriptor is ours since it left pywsgi: close it once written out
            if self.pending:
                gevent.spawn_later(CLOSE_TIMEOUT, self._lost)  # a peer that stopped reading
            else:
                self._close_fd()

    # -- reading (the handler greenlet only) ----------------------------------------------------

    def wait(self):
        """The next whole message (str or bytes), or None when the connection is over."""
        inbox = self.inbox
        while not inbox:
            if self.dead or self.conn.state is not ConnectionState.OPEN:
                return None
            try:
                data = self._sock.recv(RECEIVE_BYTES)
            except OSError:
                data = b""
            if not data:
                self.dead = True
                return None
            self.conn.receive_data(data)
            inbox = self._read_events()
        message = inbox.pop(0)
        if not inbox:
            self.inbox = None
        return message

    def _read_events(self):
        inbox = self.inbox = self.inbox or []
        limit = self.server.max_http_buffer_size
        for event in self.conn.events():
            if isinstance(event, Message):
                if not event.message_finished:
                    # a fragmented message: rare (browsers and socket.io send whole frames); collect it
                    self._collect(event, limit)
                    continue
                data = self._complete(event)
                if data is None or len(data) > limit:
                    self._close(CloseReason.MESSAGE_TOO_BIG, "Message is too big")
                    return inbox
                inbox.append(data)
            elif isinstance(event, Ping):
                self.write(self.conn.send(event.response()))
            elif isinstance(event, CloseConnection):
                if self.conn.state is ConnectionState.REMOTE_CLOSING:
                    self.write(self.conn.send(event.response()))
                self.dead = True
                return inbox
        return inbox

    def _collect(self, event, limit):
        parts = self.fragments = self.fragments or []
        parts.append(event.data)
        if sum(len(p) for p in parts) > limit:
            self.fragments = None
            self._close(CloseReason.MESSAGE_TOO_BIG, "Message is too big")

    def _complete(self, event):
        parts, self.fragments = self.fragments, None
        if parts is None:
            return event.data
        parts.append(event.data)
        if isinstance(event, TextMessage):
            return "".join(parts)
        return b"".join(bytes(p) for p in parts)

    # -- writing (any greenlet, or the hub) -------------------------------------------------------

    def send(self, message):
        """Engine.IO's writer (upgraded connections): one encoded packet."""
        if self.dead:
            raise OSError("the WebSocket is closed")
        self.write(_frame_of(self.conn, message))

    def put(self, pkt, block=True, timeout=None):
        """The Engine.IO socket's queue.put: write the packet now; None means the socket closed."""
        if pkt is None:
            self.finish()
            return
        if self.dead or self.finishing:
            return
        self.write(_frame_of(self.conn, pkt.encode()))

    def put_frame(self, frame: bytes) -> None:
        """A ready frame (a broadcast's shared one), written like put() writes a packet."""
        if not (self.dead or self.finishing):
            self.write(frame)

    def write(self, data: bytes) -> None:
        if self.dead or not data:
            return
        pending = self.pending
        if pending:
            pending += data
            return
        try:
            sent = self.raw.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            self._lost()
            return
        if sent < len(data):
            self.pending = bytearray(memoryview(data)[sent:])
            self._watch()

    def _watch(self):
        if self.watcher is None:
            self.watcher = gevent.get_hub().loop.io(self.raw.fileno(), _WRITE)
        if not self.watcher.active:
            self.watcher.start(self._flush)

    def _flush(self):
        """libev callback (in the hub: must not block): send what the kernel takes now."""
        pending = self.pending
        try:
            while pending:
                sent = self.raw.send(pending)
                del pending[:sent]
        except BlockingIOError:
            return
        except OSError:
            self._lost()
            return
        self.pending = None
        self.watcher.stop()
        if self.flushed is not None:
            self.flushed.set()
        if self.finishing:
            self._shutdown()
            if self.owned:
                self._close_fd()

    def _lost(self):
        self.dead = True
        self.pending = None
        if self.watcher is not None:
            self.watcher.stop()
        if self.flushed is not None:
            self.flushed.set()
        self._shutdown()
        if self.owned:
            self._close_fd()

    def finish(self):
        """Engine.IO closed the socket: a WebSocket close frame after what is pending, then EOF."""
        if self.finishing:
            return
        self.finishing = True
        if not self.dead and self.conn.state is ConnectionState.OPEN:
            self.write(self.conn.send(CloseConnection(code=CloseReason.NORMAL_CLOSURE)))
        if not self.pending:
            self._shutdown()

    def _close(self, code, reason):
        if self.conn.state is ConnectionState.OPEN:
            self.write(self.conn.send(CloseConnection(code=code, reason=reason)))
        self.dead = True

    def close(self):
        """Engine.IO's writer ended (upgraded connections)."""
        self.finish()

    def _shutdown(self):
        sock = getattr(self, "_sock", None)
        if sock is None:
            return
        try:
            sock.shutdown(socket.SHUT_RDWR)  # the reader sees EOF (pywsgi or _serve closes the descriptor)
        except OSError:
            pass

    def _close_fd(self):
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher.close()
            self.watcher = None
        self._shutdown()
        self._sock.close()

    # -- the rest of the queue interface Engine.IO uses -------------------------------------------

    def qsize(self) -> int:
        return 1 if self.pending else 0

    def empty(self) -> bool:
        return not self.pending

    def task_done(self) -> None:
        pass

    def join(self, timeout=None) -> None:
        """Socket.close(wait=True): until what was written has gone to the kernel (or the peer went)."""
        while self.pending and not self.dead:
            self.flushed = self.flushed or Event()
            self.flushed.clear()
            if not self.flushed.wait(timeout) and timeout is not None:
                return

    def get(self, block=True, timeout=None):
        raise eio_exceptions.QueueEmpty()  # nothing to poll: packets were written as they came

    get_nowait = get


def _accept(environ):
    """wsproto's server handshake for the upgrade request pywsgi has parsed: (connection, response
    bytes), or None when it is not a valid WebSocket upgrade."""
    handshake = H11Handshake(ConnectionType.SERVER)
    try:
        headers = [(key[5:].replace("_", "-").encode("latin-1"), environ[key].encode("latin-1"))
                   for key in _HANDSHAKE_HEADERS if key in environ]
        handshake.initiate_upgrade_connection(headers, environ.get("PATH_INFO") or "/")
        if not any(isinstance(event, Request) for event in handshake.events()):
            return None
        # no permessage-deflate (the Node reference does not offer it either): frames stay shareable
        response = handshake.send(AcceptConnection())
    except (LocalProtocolError, RemoteProtocolError, UnicodeError):
        return None
    return handshake.connection, response


def _frame_of(conn, encoded) -> bytes:
    """The WebSocket frame of an encoded Engine.IO packet (a broadcast's is built once and shared)."""
    if type(encoded) is Frame:
        return encoded.frame
    if isinstance(encoded, bytes):
        return conn.send(BytesMessage(data=encoded))
    return conn.send(TextMessage(data=encoded))


class Pinger:
    """Engine.IO's server-side pings for every connection, from one greenlet.

    Stock python-engineio starts a greenlet per connection that sleeps `ping_interval` after each
    pong; this keeps the same schedule (a ping `ping_interval` after the connection opens, then
    `ping_interval` after each pong) in a heap. Ping time-outs are still Engine.IO's own checks."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.heap: list = []
        self.order = itertools.count()
        self.task = None

    def schedule(self, sock) -> None:
        # the stock rule: only a socket whose previous ping cycle completed gets a new one
        if not sock.last_ping:
            return
        sock.last_ping = None
        heapq.heappush(self.heap, (time.monotonic() + self.interval, next(self.order), sock))
        if self.task is None:
            self.task = gevent.spawn(self.run)

    def run(self) -> None:
        heap = self.heap
        while True:
            now = time.monotonic()
            while heap and heap[0][0] <= now:
                sock = heapq.heappop(heap)[2]
                if sock.closing or sock.closed:
                    continue
                sock.last_ping = time.time()
                try:
                    sock.send(eio_packet.Packet(eio_packet.PING))
                except Exception:  # a socket closing under us: Engine.IO cleans it up
                    log.debug("ping to %s failed", sock.sid, exc_info=True)
            gevent.sleep(min(1.0, heap[0][0] - now) if heap else 1.0)


def install(eio) -> None:
    """Use this transport and the shared pinger in a python-engineio Server in gevent mode."""
    eio._async = {**eio._async, "websocket": LeanWebSocket}
    eio.pinger = Pinger(eio.ping_interval)
    stock = eio_socket.Socket.schedule_ping
    if getattr(stock, "townhall_pinger", False):
        return

    def schedule_ping(sock):
        pinger = getattr(sock.server, "pinger", None)
        return stock(sock) if pinger is None else pinger.schedule(sock)

    schedule_ping.townhall_pinger = True
    eio_socket.Socket.schedule_ping = schedule_ping
