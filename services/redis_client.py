"""One Redis client per process (redis-py pools connections itself)."""
from __future__ import annotations

import redis
from flask import current_app


def redis_client() -> redis.Redis:
    client = current_app.extensions.get("townhall_redis")
    if client is None:
        url = current_app.config["TOWNHALL"].redis_url
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30)
        current_app.extensions["townhall_redis"] = client
    return client
