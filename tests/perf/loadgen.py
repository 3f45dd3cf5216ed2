"""Asyncio load generator speaking Engine.IO v4 / Socket.IO v5 over the websocket transport.

No socket.io client library is used: each simulated resident is one picows
WebSocket (a Cython client whose callback sees every frame, with no coroutine per
message; the worker loops run on uvloop) to
``<base>/socket.io/?EIO=4&transport=websocket``, and this module handles the few
packets the benchmark needs (the publishers' :class:`SioClient` uses aiohttp):

* Engine.IO ``0{...}`` open packet (server -> client, gives ``sid``, ``pingInterval``),
* Engine.IO ping ``2`` -> pong ``3`` (Engine.IO v4: the server pings),
* Socket.IO connect ``40[/ns,]{auth json}`` -> ``40[/ns,]{"sid": ...}`` (or ``44`` error),
* Socket.IO events ``42[/ns,][ackid]["name", payload]`` and disconnect ``41``.

Every resident records, for each received ``room_event`` (the name is
configurable), its sequence number, the receipt time (``time.time()`` taken as
soon as the frame is handed to the resident's callback) and the payload's
``sent_at``.  From those and the publisher's own timestamp map the generator
computes latency, lost, duplicated, reordered and misrouted events.

To hold 10,000 connections on a 2-core machine the generator runs as several
*worker processes* (``python -m tests.perf.loadgen --worker``), each an asyncio
loop holding a share of the connections, driven by :class:`LoadGenerator` over
JSON lines on stdin/stdout; their results are merged by the harness.  Each
process raises ``RLIMIT_NOFILE`` to its hard limit, and connections can be
spread over several local source addresses (127.0.0.x, bound with
``IP_BIND_ADDRESS_NO_PORT`` so the kernel still shares ephemeral ports per
destination) should ephemeral ports run short.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import math
import os
import resource
import socket
import sys
import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import uvloop
from picows import WSCloseCode, WSFrame, WSHandshakeError, WSListener, WSMsgType, WSTransport, ws_connect

REPO_ROOT = Path(__file__).resolve().parents[2]
SIO_PATH = "/socket.io/"
# Above this many connections from one source address to one destination the
# generator adds further source addresses on its own (the ephemeral port range
# here is 32768-60999, about 28,000 ports).
CONNECTIONS_PER_SOURCE_IP = 20_000
MAX_LINE = 1 << 30


def raise_nofile_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1_048_576
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return soft


# --------------------------------------------------------------------------
# Protocol helpers
# --------------------------------------------------------------------------


def sio_url(base_url: str, path: str = SIO_PATH) -> str:
    base = base_url.rstrip("/")
    if base.startswith("http://"):
        base = "ws://" + base[len("http://") :]
    elif base.startswith("https://"):
        base = "wss://" + base[len("https://") :]
    if not path.startswith("/"):
        path = "/" + path
    if not path.endswith("/"):
        path += "/"
    return f"{base}{path}?EIO=4&transport=websocket"


def ns_prefix(namespace: str) -> str:
    """The text that follows the packet type for a namespace ('' for '/')."""
    return "" if namespace in ("", "/") else f"{namespace},"


def connect_packet(namespace: str, auth: dict | None) -> str:
    return "40" + ns_prefix(namespace) + (json.dumps(auth, separators=(",", ":")) if auth else "")


def event_packet(namespace: str, name: str, payload: Any, ack_id: int | None = None) -> str:
    ack = "" if ack_id is None else str(ack_id)
    return "42" + ns_prefix(namespace) + ack + json.dumps([name, payload], separators=(",", ":"))


def split_packet(text: str, namespace: str) -> tuple[str, str] | None:
    """Split a Socket.IO packet (after the Engine.IO '4') into (type, body).

    Returns None when the packet belongs to another namespace.  The body has
    the namespace and any ack id removed.
    """
    # text[0] == '4' (Engine.IO message); text[1] is the Socket.IO type.
    kind = text[1:2]
    rest = text[2:]
    if rest.startswith("/"):
        comma = rest.find(",")
        nsp = rest if comma < 0 else rest[:comma]
        rest = "" if comma < 0 else rest[comma + 1 :]
    else:
        nsp = "/"
    if nsp != (namespace or "/"):
        return None
    if kind in ("2", "3"):
        i = 0
        while i < len(rest) and rest[i].isdigit():
            i += 1
        rest = rest[i:]
    return kind, rest


def get_path(obj: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def new_session() -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, force_close=True, use_dns_cache=True)
    # A dummy jar: clients must never share cookies with each other.
    return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())


class SioError(Exception):
    pass


# --------------------------------------------------------------------------
# A small general client (used for publishers and tools, not the 10k residents)
# --------------------------------------------------------------------------


class SioClient:
    """A minimal Socket.IO v5 client over the websocket transport.

    ``await connect()`` performs the Engine.IO and Socket.IO handshakes; a
    background task answers pings and dispatches events to ``on(name, fn)``
    handlers and acknowledgements to ``call()`` futures.
    """

    def __init__(
        self,
        base_url: str,
        auth: dict | None = None,
        namespace: str = "/",
        path: str = SIO_PATH,
        headers: dict | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.base_url = base_url
        self.auth = auth
        self.namespace = namespace
        self.path = path
        self.headers = headers
        self._own_session = session is None
        self._session = session
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task | None = None
        self._handlers: dict[str, Any] = {}
        self._acks: dict[int, asyncio.Future] = {}
        self._next_ack = 1
        self.sid: str | None = None
        self.closed = asyncio.Event()

    def on(self, name: str, fn) -> None:
        self._handlers[name] = fn

    async def connect(self, timeout: float = 10.0) -> None:
        if self._session is None:
            self._session = new_session()
        async with asyncio.timeout(timeout):
            self._ws = await self._session.ws_connect(
                sio_url(self.base_url, self.path), headers=self.headers, autoping=True, compress=0
            )
            msg = await self._ws.receive()
            if msg.type != aiohttp.WSMsgType.TEXT or not msg.data.startswith("0"):
                raise SioError(f"expected Engine.IO open packet, got {msg.type} {msg.data!r}")
            await self._ws.send_str(connect_packet(self.namespace, self.auth))
            while True:
                msg = await self._ws.receive()
                if msg.type != aiohttp.WSMsgType.TEXT:
                    raise SioError(f"connection closed during handshake: {msg.type}")
                data = msg.data
                if data == "2":
                    await self._ws.send_str("3")
                    continue
                if data.startswith("4"):
                    parts = split_packet(data, self.namespace)
                    if parts is None:
                        continue
                    kind, body = parts
                    if kind == "0":
                        self.sid = json.loads(body).get("sid") if body else None
                        break
                    if kind == "4":
                        raise SioError(f"connect refused: {body}")
        self._reader = asyncio.create_task(self._read_loop())

    async def _read_loop(self) -> None:
        ws = self._ws
        assert ws is not None
        try:
            while True:
                msg = await ws.receive()
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                data = msg.data
                if data == "2":
                    await ws.send_str("3")
                elif data.startswith("4"):
                    parts = split_packet(data, self.namespace)
                    if parts is None:
                        continue
                    kind, body = parts
                    if kind == "2":
                        arr = json.loads(body)
                        fn = self._handlers.get(arr[0])
                        if fn is not None:
                            res = fn(*arr[1:])
                            if asyncio.iscoroutine(res):
                                await res
                    elif kind == "3":
                        # ack: the ack id was stripped by split_packet; recover it
                        raw = data[2:]
                        if raw.startswith("/"):
                            raw = raw[raw.find(",") + 1 :]
                        i = 0
                        while i < len(raw) and raw[i].isdigit():
                            i += 1
                        fut = self._acks.pop(int(raw[:i]), None) if i else None
                        if fut is not None and not fut.done():
                            fut.set_result(json.loads(raw[i:]))
                    elif kind == "1":
                        break
                elif data.startswith("1"):
                    break
        except (aiohttp.ClientError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self.closed.set()
            for fut in self._acks.values():
                if not fut.done():
                    fut.set_exception(SioError("connection closed"))
            self._acks.clear()

    async def emit(self, name: str, payload: Any) -> None:
        assert self._ws is not None, "not connected"
        await self._ws.send_str(event_packet(self.namespace, name, payload))

    async def call(self, name: str, payload: Any, timeout: float = 10.0) -> Any:
        assert self._ws is not None, "not connected"
        ack_id = self._next_ack
        self._next_ack += 1
        fut = asyncio.get_running_loop().create_future()
        self._acks[ack_id] = fut
        await self._ws.send_str(event_packet(self.namespace, name, payload, ack_id))
        async with asyncio.timeout(timeout):
            res = await fut
        return res[0] if isinstance(res, list) and len(res) == 1 else res

    async def close(self) -> None:
        if self._ws is not None and not self._ws.closed:
            try:
                async with asyncio.timeout(3):
                    await self._ws.send_str("41" + ns_prefix(self.namespace))
                    await self._ws.close()
            except Exception:
                pass
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except asyncio.CancelledError:
                if asyncio.current_task().cancelling():
                    raise
            except Exception:
                pass
        if self._own_session and self._session is not None:
            await self._session.close()


# --------------------------------------------------------------------------
# Worker side: many residents in one process
# --------------------------------------------------------------------------


@dataclass(slots=True)
class Resident:
    idx: int
    url: str
    room: str
    auth: dict | None
    headers: dict | None
    seq_offset: int = 0  # subtracted from every received seq (target's seq = harness seq + offset)
    source_ip: str | None = None
    state: str = "new"  # new, connecting, joined, failed, dropped, closed
    error: str | None = None
    t_start: float = 0.0
    t_joined: float = 0.0
    seqs: array = field(default_factory=lambda: array("q"))
    times: array = field(default_factory=lambda: array("d"))
    sent: array = field(default_factory=lambda: array("d"))
    rooms_seen: dict | None = None  # misrouting: payload room -> count, only when it differs
    ws: Any = None


def bound_socket_factory(source_ip: str | None):
    """For picows: an unconnected socket bound to `source_ip`, its port left to connect()
    (IP_BIND_ADDRESS_NO_PORT); None: the default connect path."""
    if source_ip is None:
        return None

    def create(parsed_url) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        if hasattr(socket, "IP_BIND_ADDRESS_NO_PORT"):
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_BIND_ADDRESS_NO_PORT, 1)
        sock.bind((source_ip, 0))
        return sock

    return create


class ResidentSocket(WSListener):
    """One resident's WebSocket, handled frame by frame in picows's callback.

    No coroutine, future or task per received message (the aiohttp version awaited
    `receive()` for each): at 5,000 residents and 5 events/s the generator's per-message cost
    was larger than the server's, so it set the figures. Handshake, then every `event` is
    recorded with its receipt time, taken as the frame is parsed."""

    def __init__(self, worker: "Worker", r: Resident) -> None:
        super().__init__()
        opts = worker.opts
        self.worker = worker
        self.r = r
        self.namespace = opts["namespace"]
        self.event = opts["event"]
        self.joined_event = opts["joined_event"]
        self.seq_path = opts["seq_field"]
        self.sent_path = opts["sent_at_field"]
        self.room_path = opts["room_field"]
        simple_ns = self.namespace in ("", "/")
        self.prefix = '42["' + self.event + '",' if simple_ns else None
        self.phase = "open"  # open -> connecting -> connected (waiting for joined_event) -> joined
        self.joined: asyncio.Future = asyncio.get_running_loop().create_future()

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind is WSMsgType.TEXT:
            t = time.time()
            text = frame.get_payload_as_utf8_text()
            if self.phase == "joined":
                self.on_message(transport, text, t)
            else:
                self.on_handshake(transport, text)
        elif kind is WSMsgType.CLOSE:
            transport.send_close(WSCloseCode.OK)
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        r = self.r
        if not self.joined.done():
            self.joined.set_exception(SioError(f"closed during handshake ({self.phase})"))
        elif r.state == "joined":
            r.state = "dropped"
            r.error = "dropped by server"
            self.worker.dropped += 1

    def on_handshake(self, transport: WSTransport, data: str) -> None:
        if self.phase == "open":
            if not data.startswith("0"):
                return self.fail(transport, "no Engine.IO open packet")
            transport.send(WSMsgType.TEXT, connect_packet(self.namespace, self.r.auth).encode())
            self.phase = "connecting"
            return None
        if data == "2":
            transport.send(WSMsgType.TEXT, b"3")
            return None
        parts = split_packet(data, self.namespace) if data.startswith("4") else None
        if parts is None:
            return None
        kind, body = parts
        if kind == "4":
            return self.fail(transport, "connect refused")
        if kind == "0":
            self.phase = "connected"
            if not self.joined_event:
                self.mark_joined()
        elif kind == "2" and self.phase == "connected" and json.loads(body)[0] == self.joined_event:
            self.mark_joined()
        return None

    def fail(self, transport: WSTransport, reason: str) -> None:
        if not self.joined.done():
            self.joined.set_exception(SioError(reason))
        transport.disconnect(graceful=False)

    def mark_joined(self) -> None:
        r = self.r
        r.t_joined = time.time()
        r.state = "joined"
        self.phase = "joined"
        self.worker.joined += 1
        self.joined.set_result(None)

    def on_message(self, transport: WSTransport, data: str, t: float) -> None:
        prefix = self.prefix
        if prefix is not None and data.startswith(prefix):
            payload = json.loads(data[2:])[1]
        elif data == "2":
            transport.send(WSMsgType.TEXT, b"3")
            return
        elif data.startswith("4"):
            parts = split_packet(data, self.namespace)
            if parts is None or parts[0] != "2":
                return
            arr = json.loads(parts[1])
            if arr[0] != self.event or len(arr) < 2:
                return
            payload = arr[1]
        else:
            return
        seq = get_path(payload, self.seq_path)
        if not isinstance(seq, int):
            return
        r = self.r
        r.seqs.append(seq - r.seq_offset)
        r.times.append(t)
        s = get_path(payload, self.sent_path) if self.sent_path else None
        r.sent.append(float(s) if isinstance(s, (int, float)) else 0.0)
        if self.room_path is not None:
            room = get_path(payload, self.room_path)
            if room is not None and room != r.room:
                if r.rooms_seen is None:
                    r.rooms_seen = {}
                r.rooms_seen[room] = r.rooms_seen.get(room, 0) + 1
        self.worker.received += 1


class Worker:
    """Holds a share of the residents; driven by JSON-line commands."""

    def __init__(self) -> None:
        self.residents: list[Resident] = []
        self.tasks: list[asyncio.Task] = []
        self.received = 0
        self.joined = 0
        self.failed = 0
        self.dropped = 0
        self.opts: dict[str, Any] = {}
        self.nofile = raise_nofile_limit()
        # Event-loop lag: how late a 10 ms timer fires.  It approximates the
        # queueing delay the generator itself adds to every receipt time.
        self.lag_t = array("d")
        self.lag_ms = array("f")
        self._lag_task: asyncio.Task | None = None

    async def _measure_lag(self) -> None:
        loop = asyncio.get_running_loop()
        while len(self.lag_t) < 2_000_000:  # bounded: about 5.5 hours of samples
            t = loop.time()
            await asyncio.sleep(0.01)
            self.lag_ms.append((loop.time() - t - 0.01) * 1000.0)
            self.lag_t.append(time.time())

    # -- commands ---------------------------------------------------------

    async def cmd_connect(self, msg: dict) -> dict:
        self.opts = opts = {
            "namespace": msg.get("namespace", "/"),
            "path": msg.get("path", SIO_PATH),
            "event": msg.get("event", "room_event"),
            "seq_field": tuple(msg.get("seq_field", "seq").split(".")),
            "sent_at_field": tuple(msg["sent_at_field"].split(".")) if msg.get("sent_at_field") else None,
            "room_field": tuple(msg["room_field"].split(".")) if msg.get("room_field") else None,
            "joined_event": msg.get("joined_event"),
        }
        if self._lag_task is None:
            self._lag_task = asyncio.create_task(self._measure_lag())
        timeout = float(msg.get("timeout", 30.0))
        concurrency = max(1, int(msg.get("concurrency", 200)))
        source_ips = list(msg.get("source_ips") or [])
        clients = msg["clients"]
        # Spread over source addresses; add more on our own if one would not do.
        per_url: dict[str, int] = {}
        for c in clients:
            per_url[c[1]] = per_url.get(c[1], 0) + 1
        needed = max(per_url.values(), default=0) // CONNECTIONS_PER_SOURCE_IP + 1
        if len(source_ips) < needed:
            base = source_ips or ["127.0.0.1"]
            extra = [f"127.0.0.{i}" for i in range(2, 250) if f"127.0.0.{i}" not in base]
            source_ips = base + extra[: needed - len(base)]
        new: list[Resident] = []
        for j, (idx, url, room, auth, headers, *rest) in enumerate(clients):
            ip = source_ips[j % len(source_ips)] if source_ips else None
            if ip == "127.0.0.1" and len(source_ips) == 1:
                ip = None  # plain connect(): no bind needed
            offset = int(rest[0]) if rest else 0
            new.append(Resident(idx=idx, url=url, room=room, auth=auth, headers=headers, seq_offset=offset,
                                source_ip=ip))
        self.residents.extend(new)
        sem = asyncio.Semaphore(concurrency)
        done = asyncio.Event()
        pending = [len(new)]

        def settle() -> None:
            pending[0] -= 1
            if pending[0] <= 0:
                done.set()

        t0 = time.time()
        for r in new:
            self.tasks.append(asyncio.create_task(self._run_resident(r, sem, timeout, settle)))
        if not new:
            done.set()
        try:
            async with asyncio.timeout(timeout * (len(new) / concurrency + 2) + 30):
                await done.wait()
        except TimeoutError:
            pass
        errors: dict[str, int] = {}
        join_ms = array("f")
        last = 0.0
        for r in new:
            if r.state in ("joined", "dropped") and r.t_joined:
                join_ms.append((r.t_joined - r.t_start) * 1000.0)
                last = max(last, r.t_joined)
            elif r.state != "joined":
                key = r.error or r.state
                errors[key] = errors.get(key, 0) + 1
        ok = sum(1 for r in new if r.state == "joined")
        # Everything allocated so far (sessions, sockets, residents) lives until
        # the end: keep it out of the cyclic collector's full passes, whose
        # pauses would otherwise show up as latency.
        gc.collect()
        gc.freeze()
        return {
            "ok": ok,
            "failed": len(new) - ok,
            "t_start": t0,
            "t_last_joined": last,
            "join_ms_b64": base64.b64encode(join_ms.tobytes()).decode(),
            "errors": errors,
            "source_ips": source_ips,
        }

    async def _run_resident(self, r: Resident, sem: asyncio.Semaphore, timeout: float, settle) -> None:
        settled = False
        try:
            async with sem:
                r.state = "connecting"
                r.t_start = time.time()
                try:
                    async with asyncio.timeout(timeout):
                        transport, listener = await ws_connect(
                            lambda: ResidentSocket(self, r), sio_url(r.url, self.opts["path"]),
                            extra_headers=r.headers, socket_factory=bound_socket_factory(r.source_ip),
                            websocket_handshake_timeout=timeout, max_frame_size=MAX_LINE)
                        r.ws = transport
                        await listener.joined
                except TimeoutError:
                    raise SioError("timeout") from None
            settled = True
            settle()
        except asyncio.CancelledError:
            raise
        except SioError as exc:
            r.error = str(exc)
        except WSHandshakeError as exc:
            status = getattr(exc.response, "status", None)
            r.error = f"handshake HTTP {int(status)}" if status is not None else f"handshake: {exc}"[:120]
        except OSError as exc:
            r.error = f"{type(exc).__name__}: {exc.strerror or exc}"[:120]
        except Exception as exc:  # noqa: BLE001 - reported, never fatal
            r.error = f"{type(exc).__name__}: {exc}"[:120]
        finally:
            if r.state in ("connecting", "new"):
                r.state = "failed"
                self.failed += 1
                if r.ws is not None:
                    r.ws.disconnect(graceful=False)
            if not settled:
                settle()

    def cmd_stats(self, msg: dict) -> dict:
        return {
            "received": self.received,
            "joined": self.joined,
            "held": sum(1 for r in self.residents if r.state == "joined"),
            "failed": self.failed,
            "dropped": self.dropped,
            "clients": len(self.residents),
            "t": time.time(),
        }

    def cmd_collect(self, msg: dict) -> dict:
        """Analyse every resident's record against what was published.

        ``published`` maps room -> [[seq, t_publish], ...].  Latency is receipt
        minus the publisher's timestamp when known, else minus payload sent_at.
        """
        published: dict[str, dict[int, float]] = {
            room: {int(s): float(t) for s, t in items} for room, items in (msg.get("published") or {}).items()
        }
        since = float(msg.get("since", 0.0))
        lat = array("f")
        deliveries = expected_total = lost = reordered = duplicates = unexpected = misrouted = 0
        complete = 0
        first = float("inf")
        last = 0.0
        for r in self.residents:
            if r.state not in ("joined", "dropped"):
                continue
            expected = published.get(r.room, {})
            expected_total += len(expected)
            seen: set[int] = set()
            prev = None
            c_reordered = c_dup = c_unexp = 0
            for seq, t, s in zip(r.seqs, r.times, r.sent):
                if t < since:
                    continue
                deliveries += 1
                if t < first:
                    first = t
                if t > last:
                    last = t
                if seq in seen:
                    c_dup += 1
                    continue
                seen.add(seq)
                if prev is not None and seq < prev:
                    c_reordered += 1
                prev = seq if prev is None or seq > prev else prev
                tp = expected.get(seq)
                if tp is None:
                    c_unexp += 1
                    if s:
                        lat.append((t - s) * 1000.0)
                else:
                    lat.append((t - tp) * 1000.0)
            c_lost = sum(1 for seq in expected if seq not in seen)
            lost += c_lost
            reordered += c_reordered
            duplicates += c_dup
            unexpected += c_unexp
            if r.rooms_seen:
                misrouted += sum(r.rooms_seen.values())
            if c_lost == 0 and c_reordered == 0 and c_dup == 0:
                complete += 1
        lag = array("f", (v for t, v in zip(self.lag_t, self.lag_ms) if t >= since))
        return {
            "loop_lag_ms_b64": base64.b64encode(lag.tobytes()).decode(),
            "clients": sum(1 for r in self.residents if r.state in ("joined", "dropped")),
            "dropped": sum(1 for r in self.residents if r.state == "dropped"),
            "deliveries": deliveries,
            "expected": expected_total,
            "lost": lost,
            "reordered": reordered,
            "duplicates": duplicates,
            "unexpected": unexpected,
            "misrouted": misrouted,
            "complete_clients": complete,
            "first_receipt": first if deliveries else None,
            "last_receipt": last if deliveries else None,
            "lat_ms_b64": base64.b64encode(lat.tobytes()).decode(),
        }

    async def cmd_close(self, msg: dict) -> dict:
        t0 = time.time()
        open_sockets = [r.ws for r in self.residents if r.ws is not None and not r.ws.is_disconnected]
        for r in self.residents:
            if r.state == "joined":
                r.state = "closed"  # before the close, so that it is not counted as dropped
        for transport in open_sockets:
            transport.send_close(WSCloseCode.OK)
            transport.disconnect()
        try:
            async with asyncio.timeout(float(msg.get("timeout", 15))):
                await asyncio.gather(*(t.wait_disconnected() for t in open_sockets), return_exceptions=True)
        except TimeoutError:
            pass
        if self._lag_task is not None:
            self._lag_task.cancel()
            self._lag_task = None
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for r in self.residents:
            r.ws = None
        return {"closed": len(open_sockets), "seconds": time.time() - t0}


async def worker_main() -> None:
    """Serve JSON-line commands on stdin; answer each on stdout with one line."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=MAX_LINE)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    out = sys.stdout.buffer
    worker = Worker()

    def reply(obj: dict) -> None:
        out.write(json.dumps(obj, separators=(",", ":")).encode() + b"\n")
        out.flush()

    reply({"ready": True, "pid": os.getpid(), "nofile": worker.nofile})
    # Commands run as tasks so that "stats" is answered while "connect" is in progress.
    running: set[asyncio.Task] = set()

    async def handle(msg: dict) -> None:
        cmd = msg.get("cmd")
        rid = msg.get("id")
        try:
            if cmd == "connect":
                res = await worker.cmd_connect(msg)
            elif cmd == "stats":
                res = worker.cmd_stats(msg)
            elif cmd == "collect":
                res = worker.cmd_collect(msg)
            elif cmd == "close":
                res = await worker.cmd_close(msg)
            else:
                res = {"error": f"unknown command {cmd!r}"}
        except Exception as exc:  # noqa: BLE001
            res = {"error": f"{type(exc).__name__}: {exc}"}
        res["id"] = rid
        reply(res)

    while True:
        line = await reader.readline()
        if not line:
            break
        msg = json.loads(line)
        if msg.get("cmd") == "exit":
            break
        task = asyncio.create_task(handle(msg))
        running.add(task)
        task.add_done_callback(running.discard)
    if running:
        await asyncio.wait(running, timeout=10)
    await worker.cmd_close({"timeout": 5})


# --------------------------------------------------------------------------
# Harness side: drive several worker processes and merge their results
# --------------------------------------------------------------------------


@dataclass
class ClientSpec:
    """One simulated resident: which server, which room, how to authenticate."""

    url: str
    room: str
    auth: dict | None
    headers: dict | None = None
    seq_offset: int = 0


@dataclass
class SioProtocol:
    """What the generator needs to know about a target's Socket.IO surface."""

    namespace: str = "/"
    path: str = SIO_PATH
    event: str = "room_event"
    seq_field: str = "seq"
    sent_at_field: str | None = "sent_at"
    room_field: str | None = None
    joined_event: str | None = None


def decode_floats(b64: str) -> array:
    a = array("f")
    a.frombytes(base64.b64decode(b64))
    return a


def percentile(sorted_values, q: float) -> float | None:
    if not sorted_values:
        return None
    # nearest rank: the smallest value with at least q% of the values at or below it
    k = max(0, min(len(sorted_values) - 1, math.ceil(q / 100.0 * len(sorted_values) - 1e-9) - 1))
    return float(sorted_values[k])


class LoadGenerator:
    """Runs ``workers`` generator processes and spreads residents over them."""

    def __init__(self, workers: int = 2, source_ips: list[str] | None = None, stderr_path: Path | None = None):
        self.n_workers = max(1, workers)
        self.source_ips = source_ips or []
        self.stderr_path = stderr_path
        self.procs: list[asyncio.subprocess.Process] = []
        self._locks: list[asyncio.Lock] = []
        self._pending: list[dict[int, asyncio.Future]] = []
        self._readers: list[asyncio.Task] = []
        self._next_id = 0
        self._stderr_files: list[Any] = []

    async def __aenter__(self) -> "LoadGenerator":
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.shutdown()

    async def start(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        for w in range(self.n_workers):
            if self.stderr_path:
                self.stderr_path.parent.mkdir(parents=True, exist_ok=True)
                f = open(self.stderr_path.with_name(f"{self.stderr_path.stem}-{w}.log"), "ab")
                self._stderr_files.append(f)
                err = f
            else:
                err = None
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.perf.loadgen",
                "--worker",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=err,
                cwd=str(REPO_ROOT),
                env=env,
                limit=MAX_LINE,
            )
            self.procs.append(proc)
            self._pending.append({})
        for w, proc in enumerate(self.procs):
            async with asyncio.timeout(30):
                hello = json.loads(await proc.stdout.readline())
            if not hello.get("ready"):
                raise RuntimeError(f"generator worker {w} did not start: {hello}")
            self._readers.append(asyncio.create_task(self._read_replies(w)))

    async def _read_replies(self, w: int) -> None:
        proc = self.procs[w]
        while True:
            line = await proc.stdout.readline()
            if not line:
                break
            msg = json.loads(line)
            fut = self._pending[w].pop(msg.get("id"), None)
            if fut is not None and not fut.done():
                fut.set_result(msg)
        for fut in self._pending[w].values():
            if not fut.done():
                fut.set_exception(RuntimeError(f"generator worker {w} exited"))
        self._pending[w].clear()

    async def request(self, w: int, msg: dict, timeout: float = 600.0) -> dict:
        self._next_id += 1
        rid = self._next_id
        fut = asyncio.get_running_loop().create_future()
        self._pending[w][rid] = fut
        proc = self.procs[w]
        proc.stdin.write(json.dumps({**msg, "id": rid}, separators=(",", ":")).encode() + b"\n")
        await proc.stdin.drain()
        async with asyncio.timeout(timeout):
            res = await fut
        if "error" in res:
            raise RuntimeError(f"generator worker {w}: {res['error']}")
        return res

    async def all(self, msgs: list[dict] | dict, timeout: float = 600.0) -> list[dict]:
        if isinstance(msgs, dict):
            msgs = [msgs] * self.n_workers
        return list(await asyncio.gather(*(self.request(w, m, timeout) for w, m in enumerate(msgs))))

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    async def connect(
        self,
        clients: list[ClientSpec],
        proto: SioProtocol,
        concurrency: int = 200,
        timeout: float = 30.0,
        first_index: int = 0,
    ) -> dict:
        """Connect and join all clients (spread round-robin over the workers).

        Returns joined/failed counts, the time from the first attempt to the
        last join (seconds), per-client join-time percentiles and error counts.
        """
        per_worker: list[list] = [[] for _ in range(self.n_workers)]
        for j, c in enumerate(clients):
            per_worker[j % self.n_workers].append([first_index + j, c.url, c.room, c.auth, c.headers, c.seq_offset])
        base = {
            "cmd": "connect",
            "namespace": proto.namespace,
            "path": proto.path,
            "event": proto.event,
            "seq_field": proto.seq_field,
            "sent_at_field": proto.sent_at_field,
            "room_field": proto.room_field,
            "joined_event": proto.joined_event,
            "timeout": timeout,
            "concurrency": max(1, concurrency // self.n_workers),
        }
        msgs = []
        for w in range(self.n_workers):
            ips = self.source_ips[w::self.n_workers] or self.source_ips
            msgs.append({**base, "clients": per_worker[w], "source_ips": ips})
        t0 = time.time()
        res = await self.all(msgs, timeout=timeout * (len(clients) / max(1, concurrency) + 2) + 120)
        joined = sum(r["ok"] for r in res)
        failed = sum(r["failed"] for r in res)
        last = max((r["t_last_joined"] for r in res), default=0.0)
        join_ms = array("f")
        errors: dict[str, int] = {}
        for r in res:
            join_ms.extend(decode_floats(r["join_ms_b64"]))
            for k, v in r["errors"].items():
                errors[k] = errors.get(k, 0) + v
        js = sorted(join_ms)
        return {
            "requested": len(clients),
            "joined": joined,
            "failed": failed,
            "seconds_to_all_joined": (last - t0) if last else None,
            "join_ms_p50": percentile(js, 50),
            "join_ms_p99": percentile(js, 99),
            "join_ms_max": js[-1] if js else None,
            "errors": errors,
            "t_start": t0,
            "t_last_joined": last,
            "source_ips": sorted({ip for r in res for ip in r.get("source_ips", [])}),
        }

    async def stats(self) -> dict:
        res = await self.all({"cmd": "stats"}, timeout=60)
        total: dict[str, Any] = {}
        for r in res:
            for k in ("received", "joined", "held", "failed", "dropped", "clients"):
                total[k] = total.get(k, 0) + r[k]
        return total

    async def collect(self, published: dict[str, list[tuple[int, float]]], since: float = 0.0) -> dict:
        """Merge every worker's analysis; latencies in milliseconds."""
        pub = {room: [[s, t] for s, t in items] for room, items in published.items()}
        res = await self.all({"cmd": "collect", "published": pub, "since": since}, timeout=600)
        merged: dict[str, Any] = {}
        for k in ("clients", "dropped", "deliveries", "expected", "lost", "reordered", "duplicates",
                  "unexpected", "misrouted", "complete_clients"):
            merged[k] = sum(r[k] for r in res)
        firsts = [r["first_receipt"] for r in res if r["first_receipt"] is not None]
        lasts = [r["last_receipt"] for r in res if r["last_receipt"] is not None]
        merged["first_receipt"] = min(firsts) if firsts else None
        merged["last_receipt"] = max(lasts) if lasts else None
        lat = array("f")
        for r in res:
            lat.extend(decode_floats(r["lat_ms_b64"]))
        ls = sorted(lat)
        merged["latency_ms"] = {
            "p50": percentile(ls, 50),
            "p95": percentile(ls, 95),
            "p99": percentile(ls, 99),
            "max": float(ls[-1]) if ls else None,
            "mean": (sum(ls) / len(ls)) if ls else None,
            "samples": len(ls),
        }
        lag = array("f")
        for r in res:
            lag.extend(decode_floats(r["loop_lag_ms_b64"]))
        lag_s = sorted(lag)
        merged["generator_loop_lag_ms"] = {
            "p50": percentile(lag_s, 50),
            "p99": percentile(lag_s, 99),
            "max": float(lag_s[-1]) if lag_s else None,
        }
        return merged

    async def close_clients(self, timeout: float = 20.0) -> None:
        if self.procs:
            await self.all({"cmd": "close", "timeout": timeout}, timeout=timeout + 30)

    async def shutdown(self) -> None:
        for w, proc in enumerate(self.procs):
            if proc.returncode is None:
                try:
                    proc.stdin.write(b'{"cmd":"exit"}\n')
                    await proc.stdin.drain()
                    proc.stdin.close()
                except (ConnectionError, RuntimeError):
                    pass
        for proc in self.procs:
            try:
                async with asyncio.timeout(20):
                    await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()
        for t in self._readers:
            t.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
        for f in self._stderr_files:
            f.close()
        self.procs.clear()
        self._readers.clear()


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


async def _standalone(args: argparse.Namespace) -> None:
    """Connect N residents to one room of a running server, hold, report."""
    raise_nofile_limit()
    proto = SioProtocol(namespace=args.namespace, event=args.event)
    clients = [ClientSpec(url=args.url, room=args.room, auth={"room": args.room}) for _ in range(args.n)]
    async with LoadGenerator(workers=args.workers) as gen:
        joined = await gen.connect(clients, proto, concurrency=args.concurrency)
        print(json.dumps({k: v for k, v in joined.items() if k not in ("t_start", "t_last_joined")}))
        deadline = time.monotonic() + args.hold
        while time.monotonic() < deadline:
            await asyncio.sleep(min(5.0, max(0.0, deadline - time.monotonic())))
            print(json.dumps(await gen.stats()))
        await gen.close_clients()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--worker", action="store_true", help="internal: run as a generator worker process")
    p.add_argument("--url", default="http://127.0.0.1:3000")
    p.add_argument("--room", default="bench")
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--hold", type=float, default=10.0, help="seconds to hold the connections (max 3600)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--concurrency", type=int, default=400)
    p.add_argument("--namespace", default="/")
    p.add_argument("--event", default="room_event")
    args = p.parse_args(argv)
    if args.worker:
        uvloop.run(worker_main())
        return
    args.hold = min(max(0.0, args.hold), 3600.0)
    asyncio.run(_standalone(args))


if __name__ == "__main__":
    main()
