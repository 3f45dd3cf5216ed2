"""The live process's Socket.IO message queue: Redis pub/sub that catches up after an outage.

Redis carries live delivery; PostgreSQL is the record. When Redis restarts, python-socketio's
RedisManager re-subscribes by itself, but every event published while it was away is gone, and
clients stay connected to their live process, so they never reconnect and never ask for it. A
client only notices a gap when a later event arrives; if the last events of a session were
published during the outage, nobody would ever see them.

This manager closes that hole. It remembers, per Socket.IO room, the highest sequence number it
has delivered (its watermark). Each time the subscription is confirmed again after the first
(whether python-socketio reconnected or redis-py did it transparently), it takes a snapshot of
the watermarks and hands it to `on_resubscribed`, which replays from PostgreSQL what this
process's clients may have missed (services/web/live/events.py). Clients ignore repeats by sequence.
It also retries faster than the default (capped at a few seconds instead of a minute) and uses
TCP keepalives so a silent network partition is noticed.
"""
from __future__ import annotations

import logging
import socket
import time
from datetime import datetime, timezone
from typing import Callable

from socketio import RedisManager

from services.ops.metrics import EVENTS_DELIVERED, FANOUT_LATENCY
from services.rooms.broadcast import EMIT_BATCH

log = logging.getLogger(__name__)

SEQUENCED_EVENTS = ("room_event", "staff_event")
RETRY_FIRST = 0.25
RETRY_MAX = 2.0


def _keepalive_options() -> dict:
    options = {}
    for name, value in (("TCP_KEEPIDLE", 10), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 3)):
        if hasattr(socket, name):
            options[getattr(socket, name)] = value
    return options


class ResumingRedisManager(RedisManager):
    def __init__(self, url: str, *, channel: str,
                 on_resubscribed: Callable[[dict[str, int]], None] | None = None):
        super().__init__(url, channel=channel, write_only=False, redis_options={
            "socket_connect_timeout": 2, "socket_keepalive": True,
            "socket_keepalive_options": _keepalive_options()})
        self.on_resubscribed = on_resubscribed
        self.watermarks: dict[str, int] = {}
        self.subscriptions = 0

    def note_seq(self, room: str, seq: int | None) -> None:
        """Record that this process's clients in `room` have (or are being sent) everything up to `seq`."""
        if isinstance(seq, int) and seq > self.watermarks.get(room, -1):
            self.watermarks[room] = seq

    def _handle_emit(self, message):
        if message.get("event") in SEQUENCED_EVENTS:
            data = message.get("data")
            event = data[0] if isinstance(data, list) and data else data
            if isinstance(event, dict):
                self.note_seq(message.get("room"), event.get("seq"))
        return super()._handle_emit(message)

    def _redis_connect(self):
        super()._redis_connect()
        # keep subscribe confirmations: each one after the first means we were away
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=False)

    def _redis_listen_with_retries(self):  # pragma: no cover - exercised by the Redis restart test
        retry_sleep = RETRY_FIRST
        subscribed = False
        while True:
            try:
                if not subscribed:
                    self._redis_connect()
                    self.pubsub.subscribe(self.channel)
                    subscribed = True
                    retry_sleep = RETRY_FIRST
                yield from self.pubsub.listen()
            except Exception as exc:
                log.warning("Socket.IO queue: cannot receive from Redis (%s); retrying in %.2fs",
                            exc.__class__.__name__, retry_sleep)
                subscribed = False
                time.sleep(retry_sleep)
                retry_sleep = min(retry_sleep * 2, RETRY_MAX)

    def _listen(self):
        channel = self.channel.encode("utf-8")
        for message in self._redis_listen_with_retries():
            if message.get("channel") != channel:
                continue
            if message["type"] == "subscribe":
                self._subscribed()
            elif message["type"] == "message" and "data" in message:
                yield from self._unbatched(message["data"])

    def _unbatched(self, raw):
        """One transaction's emits arrive as one message (services/rooms/broadcast.py): hand them on
        one by one, decoded (python-socketio's loop takes a dict as it is)."""
        try:
            message = self.json.loads(raw)
        except (TypeError, ValueError):
            return
        if isinstance(message, dict) and message.get("method") == EMIT_BATCH:
            yield from (m for m in message.get("messages") or () if isinstance(m, dict))
        else:
            yield message

    def _subscribed(self) -> None:
        self.subscriptions += 1
        if self.subscriptions == 1 or self.on_resubscribed is None:
            return
        # snapshot now, before any newer message can raise a watermark past a lost event
        snapshot = dict(self.watermarks)
        log.warning("Socket.IO queue: re-subscribed to Redis; catching up %d room(s) from the event log",
                    len(snapshot))
        self.server.start_background_task(self.on_resubscribed, snapshot)

    def emit_here(self, event: str, data, *, to: str) -> None:
        """Deliver to this process's clients only (the catch-up must not fan out to other processes)."""
        self.emit(event, data, namespace="/", room=to, ignore_queue=True)

    def local_rooms(self) -> set[str]:
        return set(self.rooms.get("/", {}))


class MeteredRedisManager(ResumingRedisManager):
    """The live process's Socket.IO manager: the resuming Redis queue above, which also counts deliveries and fan-out latency as each message is handed to this process's sockets."""

    def _handle_emit(self, message):
        event = message.get("event")
        namespace = message.get("namespace") or "/"
        room = message.get("room")
        recipients = len(self.rooms.get(namespace, {}).get(room, ())) if isinstance(room, str) else 0
        if recipients and message.get("skip_sid"):
            recipients -= 1
        super()._handle_emit(message)
        if recipients > 0:
            EVENTS_DELIVERED.labels(event).inc(recipients)
            data = message.get("data")
            payload = data[0] if isinstance(data, list) and data else data
            if isinstance(payload, dict) and isinstance(payload.get("at"), str):
                try:
                    at = datetime.fromisoformat(payload["at"])
                except ValueError:
                    return
                FANOUT_LATENCY.observe(max(0.0, (datetime.now(timezone.utc) - at).total_seconds()))
