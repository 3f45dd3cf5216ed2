"""Emits to Socket.IO rooms from any process (web, live, worker) through the Redis message queue.

A write-only manager publishes to the channel the live servers subscribe to; each live server
delivers to its own connections, encoding the packet once per room.
"""
from __future__ import annotations

from flask import current_app
from socketio import RedisManager

def _manager() -> RedisManager:
    manager = current_app.extensions.get("townhall_emitter")
    if manager is None:
        config = current_app.config["TOWNHALL"]
        manager = RedisManager(config.redis_url, channel=config.socketio_channel, write_only=True)
        current_app.extensions["townhall_emitter"] = manager
    return manager


def emit(event: str, data, *, to: str) -> None:
    _manager().emit(event, data, namespace="/", room=to)
