"""Emits to Socket.IO rooms from any process (web, live, worker) through the Redis message queue.

A write-only manager publishes to the channel the live servers subscribe to; each live server
delivers to its own connections, encoding the packet once per room.

Emits are best effort: PostgreSQL is the record. If Redis is down the publish fails fast (short
timeouts, few retries) instead of holding the request, and the live processes replay what was
missed when their subscription returns (services/web/live/message_queue.py).
"""
from __future__ import annotations

from flask import current_app
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from socketio import RedisManager

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
