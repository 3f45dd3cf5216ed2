"""How many people are in each room, across every live process.

Each process counts its own connections per room and, every few seconds, writes its count into
a Redis hash per room (field = process id, value = count and time, so a dead process's count
is ignored once it is stale).
One process per room (whoever holds a short Redis lease) sums the hash and emits `presence`
when the total changes. Presence is ephemeral: it is not part of the event log.
"""
from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections import Counter
from datetime import datetime, timezone

from services.rooms import broadcast
from services.rooms.channels import room_channel
from services.ops.redis_client import redis_client
from services.residents import capacity
from tenants.db import tenant_scope
from tenants.errors import Unavailable

log = logging.getLogger(__name__)

PROCESS_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
INTERVAL = 2.0
TTL = 15

_local: Counter = Counter()
_last_total: dict[str, int] = {}
_residents: Counter = Counter()   # (room id, participant id) -> connections here: their seats stay held
_leaving: set[tuple[str, str]] = set()   # seats whose last connection here closed since the last refresh


def joined(room_id, participant_id=None) -> None:
    _local[str(room_id)] += 1
    if participant_id is not None:
        _residents[(str(room_id), str(participant_id))] += 1


def left(room_id, participant_id=None) -> None:
    key = str(room_id)
    _local[key] -= 1
    if _local[key] <= 0:
        _local[key] = 0
    if participant_id is not None:
        seat = (key, str(participant_id))
        _residents[seat] -= 1
        if _residents[seat] <= 0:
            del _residents[seat]
            _leaving.add(seat)   # released with the next refresh: a disconnect storm makes no Redis calls


def record_connect(identity) -> uuid.UUID:
    """A row per resident connection, in PostgreSQL: peak concurrency for usage metering is computed
    from these intervals, so it survives restarts and counts every live process.

    The rows are written in batches by `flush_metering` (every METERING_INTERVAL, and when the
    process drains), not in the join's transaction: a join storm then commits no writes at all.
    The times are taken here, so a row says when the connection really opened and closed."""
    presence_id = uuid.uuid4()
    _opened.append((presence_id, identity.tenant_id, identity.room_id, identity.subject_id, _now()))
    return presence_id


def record_disconnect(tenant_id, presence_id) -> None:
    _closed.append((presence_id, tenant_id, _now()))


def _now() -> datetime:
    return datetime.now(timezone.utc)


_opened: list[tuple] = []   # connections not yet written: (id, tenant, room, participant, connected_at)
_closed: list[tuple] = []   # disconnections not yet written: (id, tenant, disconnected_at)
METERING_INTERVAL = 0.5
METERING_BACKLOG = 200_000  # while PostgreSQL is away, keep at most this many rows to write


def flush_metering() -> None:
    """Write the pending connection rows, one transaction per tenant (in the app context)."""
    global _opened, _closed
    opened, closed, _opened, _closed = _opened, _closed, [], []
    tenants: dict = {}
    for row in opened:
        tenants.setdefault(row[1], ([], []))[0].append((*row, PROCESS_ID, row[2]))
    for row in closed:
        tenants.setdefault(row[1], ([], []))[1].append((row[2], row[0]))
    for tenant_id, (new, gone) in tenants.items():
        try:
            with tenant_scope(tenant_id) as tx, tx.conn.cursor() as cur:
                if new:  # a room deleted since the join has no rows to meter
                    cur.executemany("insert into room_presence (id, tenant_id, room_id, participant_id, connected_at,"
                                    " process) select %s, %s, %s, %s, %s, %s where exists"
                                    " (select 1 from rooms where id = %s) on conflict (id) do nothing", new)
                if gone:
                    cur.executemany("update room_presence set disconnected_at = %s"
                                    " where id = %s and disconnected_at is null", gone)
        except Unavailable:
            # PostgreSQL is away: keep them for the next round (connections first, so that order holds)
            _opened[:0] = [row[:5] for row in new][-METERING_BACKLOG:]
            _closed[:0] = [(pid, tenant_id, at) for at, pid in gone][-METERING_BACKLOG:]
            log.warning("usage metering rows kept for later: database unavailable")
        except Exception:
            log.exception("could not write %d usage metering rows", len(new) + len(gone))


def refresh_seats() -> None:
    """Hold the seats of residents connected here, and free those whose last connection here closed
    (unless they came back meanwhile), in one round trip."""
    global _leaving
    leaving, _leaving = _leaving, set()
    seats: dict[str, set[str]] = {}
    for room, participant in list(_residents):
        seats.setdefault(room, set()).add(participant)
    freed: dict[str, set[str]] = {}
    for room, participant in leaving - set(_residents):
        freed.setdefault(room, set()).add(participant)
    try:
        capacity.refresh(seats, freed)
    except Exception:
        _leaving |= leaving - set(_residents)   # Redis is away: try again next round
        raise


def publish_once() -> None:
    r = redis_client()
    rooms = [room for room, n in _local.items() if n or room in _last_total]
    for room in rooms:
        key = f"presence:{room}"
        pipe = r.pipeline()
        if _local[room]:
            pipe.hset(key, PROCESS_ID, f"{_local[room]}:{int(time.time())}")
        else:
            pipe.hdel(key, PROCESS_ID)
        pipe.expire(key, TTL)
        pipe.set(f"presence-lead:{room}", PROCESS_ID, nx=True, ex=int(INTERVAL * 3))
        pipe.get(f"presence-lead:{room}")
        pipe.hvals(key)
        *_, leader, values = pipe.execute()
        if not _local[room]:
            _local.pop(room, None)
        if leader and leader.decode() == PROCESS_ID:
            r.expire(f"presence-lead:{room}", int(INTERVAL * 3))
            total = live_total(values)
            if _last_total.get(room) != total:
                broadcast.emit("presence", {"count": total}, to=room_channel(room))
            _last_total[room] = total
        else:
            _last_total.pop(room, None)


def live_total(values: list[bytes]) -> int:
    """Sum the counts of processes that reported recently; a dead process's count is ignored."""
    fresh_after = time.time() - TTL
    total = 0
    for value in values:
        count, _, stamp = value.decode().partition(":")
        if stamp and int(stamp) >= fresh_after:
            total += int(count)
    return total


def meter_forever(sleep) -> None:
    while True:
        sleep(METERING_INTERVAL)
        flush_metering()


def run_forever(sleep) -> None:
    while True:
        sleep(INTERVAL)
        try:
            publish_once()
            refresh_seats()
        except Exception:  # Redis briefly down: counts catch up on the next round
            log.warning("presence update failed", exc_info=True)
