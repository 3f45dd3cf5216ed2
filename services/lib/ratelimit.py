"""Fixed-window rate limits kept in Redis, shared by every process.

If Redis cannot be reached the limit fails closed with `Unavailable` (a 503 / an ack with a retry
hint), never an unhandled error: Redis restarts are brief, and nothing has been written yet.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import time

import redis
from flask import current_app

from services.lib.i18n import N_
from services.ops.redis_client import redis_client
from tenants.errors import RateLimited, Unavailable

RETRY_WHEN_DOWN = 5
UNAVAILABLE = N_("The service is briefly unavailable. Please try again in a few seconds.")


def network_key(ip: str | None) -> str:
    """Limits count per network: an IPv4 address, or an IPv6 /64 (one household, library or
    station), keyed-hashed so Redis never holds an address."""
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return "unknown"
    if address.version == 6 and address.ipv4_mapped is None:
        address = ipaddress.ip_network(f"{address}/64", strict=False).network_address
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, str(address).encode(), hashlib.sha256).hexdigest()[:24]


def _window(key: str, window_seconds: int) -> tuple[str, int]:
    window = int(time.time() // window_seconds)
    return f"rl:{key}:{window}", window_seconds - int(time.time() % window_seconds)


def _unavailable() -> Unavailable:
    return Unavailable(UNAVAILABLE,
                       details={"retry_after": RETRY_WHEN_DOWN})


def _incr(key: str, window_seconds: int) -> tuple[int, int]:
    redis_key, retry = _window(key, window_seconds)
    try:
        pipe = redis_client().pipeline()
        pipe.incr(redis_key)
        pipe.expire(redis_key, window_seconds + 1)
        total, _ = pipe.execute()
    except redis.RedisError:
        raise _unavailable() from None
    return total, retry


def hit(key: str, *, limit: int, window_seconds: int, message: str) -> None:
    """Count one event for `key`; raise RateLimited past `limit` in the current window."""
    total, retry = _incr(key, window_seconds)
    if total > limit:
        raise RateLimited(message, retry_after=max(1, retry))


def count(key: str, *, window_seconds: int) -> None:
    """Count one event for `key` without refusing (pair with `check`, e.g. to count only failures)."""
    _incr(key, window_seconds)


def check(key: str, *, limit: int, window_seconds: int, message: str) -> None:
    """Refuse when `key` has already reached `limit` in the current window, without counting."""
    redis_key, retry = _window(key, window_seconds)
    try:
        total = int(redis_client().get(redis_key) or 0)
    except redis.RedisError:
        raise _unavailable() from None
    if total >= limit:
        raise RateLimited(message, retry_after=max(1, retry))
