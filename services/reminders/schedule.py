"""A room's reminder rows (24 h and 1 h before, "we're live", "the transcript is ready") and what
happens to them when the room is rescheduled or cancelled. Every message is queued in the
caller's transaction with a `ref` (services/mail/outbox.py), so a retry never sends twice."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from services.reminders import messages as mails
from tenants.db import Tx

DEFAULT_OFFSETS_MINUTES = (24 * 60, 60)
REGISTERING_STATES = frozenset({"scheduled", "live"})


def reminder_offsets(tx: Tx) -> list[int]:
    settings = tx.value("select settings from tenants where id = %s", [tx.tenant_id]) or {}
    offsets = settings.get("reminder_offsets_minutes")
    if not isinstance(offsets, list) or not all(isinstance(o, int) and 0 < o <= 60 * 24 * 14 for o in offsets):
        offsets = list(DEFAULT_OFFSETS_MINUTES)
    return sorted(set(offsets), reverse=True)


def schedule_reminders(tx: Tx, room: dict, *, now: datetime, registration_id=None) -> None:
    """(Re)compute the timed reminders of a room's confirmed registrations (or one of them).

    Each is due at `starts_at - offset` ("we're live" at the start). A reminder whose new time
    is still ahead is (re)armed, even if its earlier version was sent; one whose time has passed
    and was not sent is skipped rather than sent late.
    """
    plan = [("before", offset) for offset in reminder_offsets(tx)] + [("live", 0)]
    only = "and g.id = %s" if registration_id else ""
    extra = [registration_id] if registration_id else []
    for kind, offset in plan:
        due = room["starts_at"] - timedelta(minutes=offset)
        if due <= now or room["state"] not in REGISTERING_STATES:
            continue
        tx.execute(
            "insert into reminders (tenant_id, registration_id, room_id, kind, offset_minutes, due_at)"
            " select g.tenant_id, g.id, g.room_id, %s, %s, %s from registrations g"
            f" where g.room_id = %s and g.status = 'confirmed' {only}"
            " on conflict (registration_id, kind, offset_minutes) do update"
            " set due_at = excluded.due_at, sent_at = null, outcome = null"
            " where reminders.due_at <> excluded.due_at",
            [kind, offset, due, room["id"], *extra])
    tx.execute("update reminders set sent_at = %s, outcome = 'skipped' where room_id = %s and sent_at is null"
               " and kind in ('before', 'live') and due_at <> %s - make_interval(mins => offset_minutes)",
               [now, room["id"], room["starts_at"]])


def room_rescheduled(tx: Tx, room: dict, *, now: datetime | None = None) -> None:
    """The start time moved: move the reminders and tell every confirmed registrant."""
    now = now or datetime.now(timezone.utc)
    schedule_reminders(tx, room, now=now)
    stamp = room["starts_at"].strftime("%Y%m%dT%H%M")
    for registration in _confirmed(tx, room["id"]):
        mails.queue_registration_mail(tx, "rescheduled", registration, room,
                                      ref=f"rescheduled:{registration['id']}:{stamp}")


def room_cancelled(tx: Tx, room: dict) -> None:
    """Before a scheduled room is deleted: a cancellation (with a calendar CANCEL) to each registrant."""
    for registration in _confirmed(tx, room["id"]):
        mails.queue_registration_mail(tx, "cancelled", registration, room, ref=f"cancelled:{registration['id']}")


def transcript_ready(tx: Tx, room: dict) -> None:
    """Due now: a "transcript ready" message per confirmed registration (once: unique row)."""
    tx.execute("insert into reminders (tenant_id, registration_id, room_id, kind, offset_minutes, due_at)"
               " select tenant_id, id, room_id, 'transcript', 0, now() from registrations"
               " where room_id = %s and status = 'confirmed' on conflict do nothing", [room["id"]])


def _confirmed(tx: Tx, room_id) -> list[dict]:
    return tx.all("select * from registrations where room_id = %s and status = 'confirmed' order by created_at, id",
                  [room_id])
