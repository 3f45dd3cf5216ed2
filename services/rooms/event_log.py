"""The room event log: append in the caller's transaction, emit after commit, replay on resume.

Every public change in a room gets the next per-room sequence number (the room row is the
counter, so concurrent writers are serialised per room) and is stored in `room_events` in the
same transaction as the change: all of a transaction's events in one statement just before its
COMMIT, so the room row is locked only for the last moment of the transaction. The emit happens only after COMMIT. Clients keep the last
sequence they applied; a gap makes them ask for the missing range, a repeat is ignored.
The staff stream (`staff_events`) works the same way for moderators' eyes only.
"""
from __future__ import annotations

from datetime import datetime, timezone
from uuid import UUID

from psycopg.types.json import Jsonb

from services.ops import metrics
from services.rooms import broadcast
from services.rooms.channels import room_channel, staff_channel
from tenants.db import Tx

REPLAY_BATCH = 500
STREAMS = {
    "room": ("room_events", "last_seq", room_channel, "room_event"),
    "staff": ("staff_events", "staff_last_seq", staff_channel, "staff_event"),
}


def _append(tx: Tx, stream: str, room_id: UUID, event_type: str, data: dict) -> None:
    """Queue the event in `tx`; every event of the transaction is written in one statement just
    before COMMIT (`_write`), which also gives each its sequence number. Its emit is queued now, so
    a transaction's emits keep the order they were made in."""
    rooms = tx.pending.get("room_events")
    if rooms is None:
        rooms = tx.pending["room_events"] = {}
        tx.before_commit(lambda: _write(tx, rooms))
    event = {"seq": None, "type": event_type, "data": data, "at": None}
    rooms.setdefault(room_id, []).append((stream, event))
    _, _, channel, socket_event = STREAMS[stream]
    broadcast.emit_after_commit(tx, socket_event, event, to=channel(room_id))


# per room, one round trip: take the next numbers of both streams and store every event under them
_WRITE = ("with counter as (update rooms set last_seq = last_seq + %(room_count)s,"
          " staff_last_seq = staff_last_seq + %(staff_count)s where id = %(room_id)s"
          " returning last_seq, staff_last_seq),"
          " room_rows as (insert into room_events (tenant_id, room_id, seq, type, data)"
          " select %(tenant_id)s, %(room_id)s, c.last_seq - %(room_count)s + e.n, e.v->>'type', e.v->'data'"
          " from counter c, jsonb_array_elements(%(room)s) with ordinality e(v, n)),"
          " staff_rows as (insert into staff_events (tenant_id, room_id, seq, type, data)"
          " select %(tenant_id)s, %(room_id)s, c.staff_last_seq - %(staff_count)s + e.n, e.v->>'type', e.v->'data'"
          " from counter c, jsonb_array_elements(%(staff)s) with ordinality e(v, n))"
          " select last_seq, staff_last_seq, now() as at from counter")


def _write(tx: Tx, rooms: dict[UUID, list[tuple[str, dict]]]) -> None:
    for room_id, queued in rooms.items():
        by_stream = {"room": [e for s, e in queued if s == "room"], "staff": [e for s, e in queued if s == "staff"]}
        row = tx.one(_WRITE, {
            "room_id": room_id, "tenant_id": tx.tenant_id,
            "room_count": len(by_stream["room"]), "staff_count": len(by_stream["staff"]),
            "room": Jsonb([{"type": e["type"], "data": e["data"]} for e in by_stream["room"]]),
            "staff": Jsonb([{"type": e["type"], "data": e["data"]} for e in by_stream["staff"]])})
        if row is None:
            raise LookupError(f"room {room_id} is gone: its events cannot be logged")
        at = row["at"].isoformat()
        for stream, events in by_stream.items():
            first = row[STREAMS[stream][1]] - len(events) + 1
            for offset, event in enumerate(events):
                event["seq"], event["at"] = first + offset, at
        tx.after_commit(lambda counts={s: len(e) for s, e in by_stream.items() if e}: _count(counts))


def _count(published: dict[str, int]) -> None:
    for stream, count in published.items():
        metrics.event_published(stream, count)


def append_room_event(tx: Tx, room_id: UUID, event_type: str, data: dict) -> None:
    _append(tx, "room", room_id, event_type, data)


def append_staff_event(tx: Tx, room_id: UUID, event_type: str, data: dict) -> None:
    _append(tx, "staff", room_id, event_type, data)


def events_after(tx: Tx, stream: str, room_id: UUID, after_seq: int, limit: int = REPLAY_BATCH) -> list[dict]:
    return send_events_after(tx, stream, room_id, after_seq, limit)()


def send_events_after(tx: Tx, stream: str, room_id: UUID, after_seq: int, limit: int = REPLAY_BATCH):
    """Send the read without waiting for it (pipeline mode: it goes out with the caller's next ones);
    returns the function that reads the events."""
    table = STREAMS[stream][0]
    cursor = tx.execute(f"select seq, type, data, created_at from {table}"
                        " where room_id = %s and seq > %s order by seq limit %s", [room_id, after_seq, limit])
    return lambda: [{"seq": r["seq"], "type": r["type"], "data": r["data"], "at": r["created_at"].isoformat()}
                    for r in cursor.fetchall()]


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()
