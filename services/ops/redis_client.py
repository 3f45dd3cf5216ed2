"""One Redis client per process (redis-py pools connections itself).

Short timeouts and few retries: when Redis is down, callers (rate limits, presence) should learn
it in well under a second and answer "briefly unavailable", not hold a request for seconds."""
from __future__ import annotations

import redis
from flask import current_app
from redis.backoff import ExponentialBackoff
from redis.retry import Retry


def redis_client() -> redis.Redis:
    client = current_app.extensions.get("townhall_redis")
    if client is None:
        url = current_app.config["TOWNHALL"].redis_url
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=1, health_check_interval=30,
                                      retry=Retry(ExponentialBackoff(cap=0.1, base=0.02), 2))
        current_app.extensions["townhall_redis"] = client
    return client
