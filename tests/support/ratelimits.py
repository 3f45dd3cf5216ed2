"""Empty rate-limit windows (services/lib/ratelimit.py keeps them in Redis under rl:*)."""
from __future__ import annotations

import redis


def forget_rate_limits(redis_url: str) -> None:
    """Every test client is 127.0.0.1: a test that is not about limits starts each call with none."""
    r = redis.Redis.from_url(redis_url)
    keys = list(r.scan_iter("rl:*", count=1000))
    if keys:
        r.delete(*keys)
