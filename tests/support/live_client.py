"""A real Socket.IO client (python-socketio) that records what a browser would receive."""
from __future__ import annotations

import json
import threading
import time

import socketio
import websocket


def raw_ws(url: str) -> websocket.WebSocket:
    """An open Engine.IO WebSocket, before Socket.IO's CONNECT."""
    ws = websocket.create_connection(url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket",
                                     timeout=10)
    opened = ws.recv()
    assert opened.startswith("0{") and json.loads(opened[1:])["pingInterval"] > 0
    return ws


def wait_on(cond: threading.Condition, predicate, timeout: float, what: str):
    """Wait until `predicate()` is truthy (re-checked whenever `cond` is notified); return its value."""
    deadline = time.monotonic() + timeout
    with cond:
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")
            cond.wait(min(remaining, 0.2))


def close_all(clients: list, method: str) -> None:
    """Disconnect clients in parallel (each can take a few seconds to close its socket)."""
    closers = [threading.Thread(target=getattr(c, method)) for c in clients]
    for t in closers:
        t.start()
    for t in closers:
        t.join(10)
    clients.clear()


def client_factory(cls, close_method: str):
    """`make(url, token, **kwargs)` connects a `cls` client and remembers it; `make.close_all()`
    closes every client it made, in parallel."""
    made: list = []

    def make(url, token, **kwargs):
        client = cls(url, token, **kwargs).connect()
        made.append(client)
        return client

    make.close_all = lambda: close_all(made, close_method)
    return make


class LiveClient:
    def __init__(self, url: str, token: str, last_seq: int | None = 0, staff_last_seq: int | None = None,
                 reconnection: bool = False):
        self.url = url
        self.token = token
        self.last_seq = last_seq
        self.staff_last_seq = staff_last_seq
        self.room_events: list[dict] = []
        self.staff_events: list[dict] = []
        self.private: list[dict] = []
        self.my_questions: list[dict] = []
        self.my_state: dict | None = None
        self.presence: list[int] = []
        self.partials: list[dict] = []     # caption_partial: live captions still being spoken
        self.final_arrivals: list[float] = []   # time.time() of each caption.final (the benchmark)
        self._cond = threading.Condition()
        self.connects = 0
        # Like live.js: reconnect by itself after a lost transport, resuming from the last seen event.
        self.sio = socketio.Client(reconnection=reconnection, reconnection_delay=0.2, reconnection_delay_max=1)
        self.sio.on("connect", self._connected)
        for name, handler in {
            "room_event": lambda e: self._add(self.room_events, [e]),
            "room_events": lambda es: self._add(self.room_events, es),
            "staff_event": lambda e: self._add(self.staff_events, [e]),
            "staff_events": lambda es: self._add(self.staff_events, es),
            "private": lambda m: self._add(self.private, [m]),
            "my_question": lambda q: self._add(self.my_questions, [q]),
            "my_state": lambda s: self._set_state(s),
            "presence": lambda p: self._add(self.presence, [p["count"]]),
            "caption_partial": lambda c: self._add(self.partials, [c]),
        }.items():
            self.sio.on(name, handler)

    def _add(self, target: list, items: list) -> None:
        with self._cond:
            if target is self.room_events:
                self.final_arrivals.extend(time.time() for e in items if e.get("type") == "caption.final")
            target.extend(items)
            self._cond.notify_all()

    def _set_state(self, state: dict) -> None:
        with self._cond:
            self.my_state = state
            self._cond.notify_all()

    def _connected(self) -> None:
        with self._cond:
            self.connects += 1
            self._cond.notify_all()

    def _auth(self) -> dict:
        """Sent on every (re)connect: the last sequence applied so far."""
        with self._cond:
            auth = {"token": self.token}
            if self.last_seq is not None:
                auth["last_seq"] = max([self.last_seq, *self.seqs()])
            if self.staff_last_seq is not None:
                auth["staff_last_seq"] = max([self.staff_last_seq, *(e["seq"] for e in self.staff_events)])
            return auth

    def connect(self) -> "LiveClient":
        self.sio.connect(self.url, transports=["websocket"], auth=self._auth, wait_timeout=10)
        return self

    def disconnect(self) -> None:
        if self.sio.connected:
            self.sio.disconnect()

    def call(self, event: str, payload=None, timeout: float = 10) -> dict:
        return self.sio.call(event, payload, timeout=timeout)

    def call_patiently(self, event: str, payload=None) -> dict:
        """Like `call`, but waits and retries when the per-connection event budget says so."""
        while True:
            reply = self.call(event, payload)
            if not (isinstance(reply, dict) and reply.get("error") == "rate_limited"
                    and "too quickly" in reply.get("message", "")):
                return reply
            time.sleep(reply["details"]["retry_after"])

    def wait_for(self, predicate, timeout: float = 10):
        return wait_on(self._cond, predicate, timeout, "a live event")

    def events_of(self, event_type: str, stream: str = "room") -> list[dict]:
        events = self.room_events if stream == "room" else self.staff_events
        return [e for e in events if e["type"] == event_type]

    def seqs(self) -> list[int]:
        return [e["seq"] for e in self.room_events]
