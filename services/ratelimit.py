"""Fixed-window rate limits kept in Redis, shared by every process."""
from __future__ import annotations

import time

from services.redis_client import redis_client
from tenants.errors import RateLimited


def hit(key: str, *, limit: int, window_seconds: int, message: str) -> None:
    """Count one event for `key`; raise RateLimited past `limit` in the current window."""
    window = int(time.time() // window_seconds)
    redis_key = f"rl:{key}:{window}"
    pipe = redis_client().pipeline()
    pipe.incr(redis_key)
    pipe.expire(redis_key, window_seconds + 1)
    count, _ = pipe.execute()
    if count > limit:
        retry = window_seconds - int(time.time() % window_seconds)
        raise RateLimited(message, retry_after=max(1, retry))
