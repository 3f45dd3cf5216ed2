"""Emits to Socket.IO rooms from any process (web, live, worker) through the Redis message queue.

A write-only manager publishes to the channel the live servers subscribe to; each live server
delivers to its own connections, encoding the packet once per room.

A transaction's emits go out together after COMMIT (`emit_after_commit`): one Redis message
carrying them all (`EMIT_BATCH`, unpacked by services/web/live/message_queue.py), in the order
they were made, instead of one PUBLISH each.

Emits are best effort: PostgreSQL is the record. If Redis is down the publish fails fast (short
timeouts, few retries) instead of holding the request, and the live processes replay what was
missed when their subscription returns (services/web/live/message_queue.py).
"""
from __future__ import annotations

from flask import current_app
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from socketio import RedisManager

from tenants.db import Tx

EMIT_BATCH = "townhall_emit_batch"
REDIS_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 2,
                 "retry": Retry(ExponentialBackoff(cap=0.1, base=0.02), 2)}


def _manager() -> RedisManager:
    manager = current_app.extensions.get("townhall_emitter")
    if manager is None:
        config = current_app.config["TOWNHALL"]
        manager = RedisManager(config.redis_url, channel=config.socketio_channel, write_only=True,
                               redis_options=dict(REDIS_OPTIONS))
        current_app.extensions["townhall_emitter"] = manager
    return manager


def emit(event: str, data, *, to: str) -> None:
    _manager().emit(event, data, namespace="/", room=to)


def emit_after_commit(tx: Tx, event: str, data, *, to: str) -> None:
    """Emit once `tx` commits, with the transaction's other emits in one message. `data` is read
    then, so a caller may still fill it in before COMMIT (the event log's sequence numbers)."""
    emits = tx.pending.get("emits")
    if emits is None:
        emits = tx.pending["emits"] = []
        tx.after_commit(lambda: emit_many(emits))
    emits.append((event, data, to))


def emit_many(emits: list[tuple[str, object, str]]) -> None:
    if len(emits) == 1:
        event, data, to = emits[0]
        emit(event, data, to=to)
        return
    manager = _manager()
    manager._publish({"method": EMIT_BATCH, "messages": [
        {"method": "emit", "event": event, "data": [data], "binary": False, "namespace": "/", "room": to,
         "skip_sid": None, "callback": None, "host_id": manager.host_id} for event, data, to in emits]})
