"""Reminder messages: the beat task that finds due reminder rows and queues each message
(composed by services/reminders/messages.py).

`dispatch_due(now)` claims due rows with `FOR UPDATE SKIP LOCKED` inside each tenant's scope and,
in the same transaction, stores one outbound message per row (ref `reminder:<id>`) and marks the
row sent; after commit one short `send_mail` task per message goes to the `mail` queue. Two beats
or two workers racing cannot send a reminder twice: the second skips the locked rows, then finds
them sent. Time comes from the caller (`now`), so tests drive it without sleeping.
"""
from __future__ import annotations

import logging
from datetime import datetime


from tenants.db import tenant_scope
from services.ops import jobs
from workers.celery_app import celery_app, moment
from services.reminders.messages import queue_registration_mail
from workers.mail import tenants_with_due_work

log = logging.getLogger(__name__)

BATCH = 200


def _outcome(reminder: dict, registration: dict | None, room: dict | None, now: datetime) -> str | None:
    """The template to send, or None to skip (unsubscribed, cancelled, too late to be useful)."""
    if registration is None or room is None or registration["status"] != "confirmed":
        return None
    if reminder["kind"] == "transcript":
        return "transcript" if room["state"] in ("closed", "archived") else None
    if room["state"] not in ("scheduled", "live"):
        return None
    if reminder["kind"] == "before":
        return "reminder" if now < room["starts_at"] else None
    return "live" if now < room["ends_at"] else None


def dispatch_due_in_tenant(tenant_id, now: datetime, limit: int = BATCH) -> int:
    """Claim this tenant's due reminders; returns how many this call claimed (sent or skipped)."""
    with tenant_scope(tenant_id) as tx:
        due = tx.all("select * from reminders where sent_at is null and due_at <= %s"
                     " order by due_at, id limit %s for update skip locked", [now, limit])
        for reminder in due:
            registration = tx.one("select * from registrations where id = %s", [reminder["registration_id"]])
            room = tx.one("select * from rooms where id = %s", [reminder["room_id"]])
            template = _outcome(reminder, registration, room, now)
            if template:
                queue_registration_mail(tx, template, registration, room, ref=f"reminder:{reminder['id']}",
                                        offset_minutes=reminder["offset_minutes"])
            tx.execute("update reminders set sent_at = %s, outcome = %s where id = %s",
                       [now, "sent" if template else "skipped", reminder["id"]])
    return len(due)


def dispatch_due(now: datetime) -> int:
    """Every tenant's due reminders → queued messages; returns how many were claimed. Safe to run
    concurrently."""
    return sum(dispatch_due_in_tenant(tenant_id, now) for tenant_id in tenants_with_due_work("reminders", now))


@celery_app.task(name=jobs.DISPATCH_REMINDERS, acks_late=True)
def dispatch_due_task(now: str | None = None) -> int:
    count = dispatch_due(moment(now))
    if count:
        log.info("claimed %s due reminder(s)", count)
    return count
