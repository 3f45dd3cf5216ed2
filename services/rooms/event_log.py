"""The room event log: append in the caller's transaction, emit after commit, replay on resume.

Every public change in a room gets the next per-room sequence number (the room row is the
counter, so concurrent writers are serialised per room) and is stored in `room_events` in the
same transaction as the change. The emit happens only after COMMIT. Clients keep the last
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


def _append(tx: Tx, stream: str, room_id: UUID, event_type: str, data: dict) -> dict:
    table, counter, channel, socket_event = STREAMS[stream]
    # one round trip: take the room's next number and store the event under it
    row = tx.one(f"with counter as (update rooms set {counter} = {counter} + 1 where id = %s returning {counter} as seq)"
                 f" insert into {table} (tenant_id, room_id, seq, type, data) select %s, %s, seq, %s, %s from counter"
                 " returning seq, created_at", [room_id, tx.tenant_id, room_id, event_type, Jsonb(data)])
    event = {"seq": row["seq"], "type": event_type, "data": data, "at": row["created_at"].isoformat()}
    tx.after_commit(lambda: _emit(stream, socket_event, event, channel(room_id)))
    return event


def _emit(stream: str, socket_event: str, event: dict, to: str) -> None:
    broadcast.emit(socket_event, event, to=to)
    metrics.event_published(stream)


def append_room_event(tx: Tx, room_id: UUID, event_type: str, data: dict) -> dict:
    return _append(tx, "room", room_id, event_type, data)


def append_staff_event(tx: Tx, room_id: UUID, event_type: str, data: dict) -> dict:
    return _append(tx, "staff", room_id, event_type, data)


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
