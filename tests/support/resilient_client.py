"""A Socket.IO client that behaves like the browser's (services/static/js/live.js): it applies
events in sequence order, ignores repeats, asks `resume` for a gap, and reconnects by itself
(python-socketio reconnection=True) sending the last sequence it applied. Fault tests use it to
prove that nothing is lost and nothing is applied twice."""
from __future__ import annotations

import threading

import socketio

from tests.support.live_client import wait_on


class Stream:
    """Port of live.js EventStream: `applied` is the list of sequence numbers in the order applied."""

    def __init__(self, name: str, last_seq: int, request_missing):
        self.name = name
        self.last_seq = last_seq
        self.pending: dict[int, dict] = {}
        self.asking = False
        self.applied: list[int] = []
        self.events: list[dict] = []
        self.received = 0
        self._request_missing = request_missing
        self._lock = threading.RLock()

    def receive(self, events: list[dict]) -> None:
        with self._lock:
            self.received += len(events)
            for event in events:
                if event["seq"] > self.last_seq:
                    self.pending[event["seq"]] = event
            while self.last_seq + 1 in self.pending:
                event = self.pending.pop(self.last_seq + 1)
                self.last_seq = event["seq"]
                self.applied.append(event["seq"])
                self.events.append(event)
            gap = bool(self.pending) and not self.asking
            if gap:
                self.asking = True
        if gap:
            threading.Thread(target=self._fill_gap, daemon=True).start()

    def _fill_gap(self) -> None:
        events = self._request_missing(self.name, self.last_seq)
        with self._lock:
            self.asking = False
        self.receive(events or [])


class ResilientClient:
    def __init__(self, url: str, token: str, last_seq: int = 0, staff_last_seq: int | None = None,
                 headers: dict | None = None):
        self.url = url
        self.token = token
        self.headers = headers or {}
        self.room = Stream("room", last_seq, self._resume)
        self.staff = Stream("staff", staff_last_seq, self._resume) if staff_last_seq is not None else None
        self.private: dict[str, dict] = {}
        self.my_questions: dict[str, dict] = {}
        self.connects = 0
        self.disconnects = 0
        self._cond = threading.Condition()
        self.sio = socketio.Client(reconnection=True, reconnection_delay=0.2, reconnection_delay_max=1,
                                   randomization_factor=0.5)
        on = self.sio.on
        on("connect", lambda: self._count("connects"))
        on("disconnect", lambda *a: self._count("disconnects"))
        on("room_event", lambda e: self._stream(self.room, [e]))
        on("room_events", lambda es: self._stream(self.room, es))
        if self.staff:
            on("staff_event", lambda e: self._stream(self.staff, [e]))
            on("staff_events", lambda es: self._stream(self.staff, es))
        on("private", lambda m: self._keep(self.private, [m]))
        on("my_question", lambda q: self._keep(self.my_questions, [q]))
        on("my_state", lambda s: (self._keep(self.my_questions, s["questions"]),
                                  self._keep(self.private, s["messages"])))

    # --- plumbing ---------------------------------------------------------------------------
    def _notify(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _count(self, name: str) -> None:
        setattr(self, name, getattr(self, name) + 1)
        self._notify()

    def _stream(self, stream: Stream, events: list[dict]) -> None:
        stream.receive(events)
        self._notify()

    def _keep(self, target: dict, items: list[dict]) -> None:
        for item in items:
            target[item["id"]] = item
        self._notify()

    def _auth(self) -> dict:
        auth = {"token": self.token, "last_seq": self.room.last_seq}
        if self.staff:
            auth["staff_last_seq"] = self.staff.last_seq
        return auth

    def _resume(self, stream: str, after: int) -> list[dict]:
        try:
            reply = self.sio.call("resume", {"stream": stream, "after": after}, timeout=10)
        except Exception:  # disconnected meanwhile: the reconnect replay will bring the events
            return []
        return reply["events"] if reply and reply.get("ok") else []

    # --- API ---------------------------------------------------------------------------------
    def connect(self) -> "ResilientClient":
        self.sio.connect(self.url, transports=["websocket"], auth=self._auth, headers=self.headers, wait_timeout=10)
        return self

    def close(self) -> None:
        try:
            self.sio.disconnect()
        except Exception:
            pass

    def call(self, event: str, payload=None, timeout: float = 10):
        return self.sio.call(event, payload, timeout=timeout)

    def wait_for(self, predicate, timeout: float = 15, what: str = "a condition"):
        return wait_on(self._cond, predicate, timeout, what)
