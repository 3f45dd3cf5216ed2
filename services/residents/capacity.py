"""Seats in a room, for the plan's concurrent-participant limit, counted in Redis across every
web and live process.

Each room has a sorted set `room-seats:<room>` of participant ids scored by when they were last
seen. Joining claims a seat atomically (a Lua script: drop stale seats, refuse when full, add);
live processes refresh the seats of the residents connected to them every few seconds (with the
presence heartbeat) and, in the same round trip, release a seat whose last connection closed. A seat not refreshed
for HOLD_SECONDS (a resident who joined but never connected, or whose live process died) is
free again. Why not the presence counts: they are per process and include viewers, and they
change only after a connection; the limit must be decided at the moment of joining, atomically.
If Redis is unreachable the join is allowed (the limit is commercial, not a safety rule).
"""
from __future__ import annotations

import logging
import time

import redis

from services.ops.redis_client import redis_client

log = logging.getLogger(__name__)

HOLD_SECONDS = 90
_CLAIM = """
local key = KEYS[1]
local now, hold, limit, member = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - hold)
if not redis.call('ZSCORE', key, member) and redis.call('ZCARD', key) >= limit then return 0 end
redis.call('ZADD', key, now, member)
redis.call('EXPIRE', key, hold * 4)
return 1
"""


def _key(room_id) -> str:
    return f"room-seats:{room_id}"


def claim(room_id, participant_id, limit: int) -> bool:
    """True when the participant has (or already had) a seat."""
    try:
        return bool(redis_client().eval(_CLAIM, 1, _key(room_id), time.time(), HOLD_SECONDS, limit,
                                        str(participant_id)))
    except redis.RedisError:
        log.warning("seat count unavailable; allowing the join", exc_info=True)
        return True


def refresh(seats: dict[str, set[str]], freed: dict[str, set[str]] | None = None) -> None:
    """Mark these participants (room id -> participant ids) as seen now, and release the `freed` ones."""
    if not seats and not freed:
        return
    now = time.time()
    pipe = redis_client().pipeline()
    for room_id, members in seats.items():
        if members:
            pipe.zadd(_key(room_id), {m: now for m in members})
            pipe.expire(_key(room_id), HOLD_SECONDS * 4)
    for room_id, members in (freed or {}).items():
        pipe.zrem(_key(room_id), *members)
    pipe.execute()


def occupied(room_id) -> int:
    r = redis_client()
    r.zremrangebyscore(_key(room_id), "-inf", time.time() - HOLD_SECONDS)
    return r.zcard(_key(room_id))
