"""Fixed-window rate limits kept in Redis, shared by every process.

If Redis cannot be reached the limit fails closed with `Unavailable` (a 503 / an ack with a retry
hint), never an unhandled error: Redis restarts are brief, and nothing has been written yet.
"""
from __future__ import annotations

import time

import redis

from services.redis_client import redis_client
from tenants.errors import RateLimited, Unavailable

RETRY_WHEN_DOWN = 5


def _window(key: str, window_seconds: int) -> tuple[str, int]:
    window = int(time.time() // window_seconds)
    return f"rl:{key}:{window}", window_seconds - int(time.time() % window_seconds)


def _unavailable() -> Unavailable:
    return Unavailable("The service is briefly unavailable. Please try again in a few seconds.",
                       details={"retry_after": RETRY_WHEN_DOWN})


def hit(key: str, *, limit: int, window_seconds: int, message: str) -> None:
    """Count one event for `key`; raise RateLimited past `limit` in the current window."""
    redis_key, retry = _window(key, window_seconds)
    try:
        pipe = redis_client().pipeline()
        pipe.incr(redis_key)
        pipe.expire(redis_key, window_seconds + 1)
        count, _ = pipe.execute()
    except redis.RedisError:
        raise _unavailable() from None
    if count > limit:
        raise RateLimited(message, retry_after=max(1, retry))


def check(key: str, *, limit: int, window_seconds: int, message: str) -> None:
    """Refuse when `key` has already reached `limit` in the current window, without counting."""
    redis_key, retry = _window(key, window_seconds)
    try:
        count = int(redis_client().get(redis_key) or 0)
    except redis.RedisError:
        raise _unavailable() from None
    if count >= limit:
        raise RateLimited(message, retry_after=max(1, retry))
