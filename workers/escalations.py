"""Safeguarding webhooks: one signed POST per escalation, retried with backoff until delivered.

The escalation row carries the delivery state (none / pending -> sending -> delivered | failed),
so a task claims it by a status transition (`FOR UPDATE SKIP LOCKED`) and a second copy of the
task finds nothing to do. A 2xx is delivered; a 4xx other than 408/429 is a permanent refusal
(the receiver will not change its mind); anything else (timeouts, 5xx, refused connections) is
retried with exponential backoff. `sweep` (beat, every minute) re-enqueues deliveries whose task
was lost and ones stuck in `sending` by a killed worker. The body is identical on every attempt
and carries the escalation id, so a receiver can drop a repeat.
"""
from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from datetime import timedelta

from services.engagement.escalations import SIGNATURE_HEADER, TIMESTAMP_HEADER, encode, payload, signature
from tenants.ids import parse_uuid
from tenants.db import tenant_scope
from services.ops import jobs
from workers.celery_app import celery_app, enqueue, moment
from workers.mail import backoff_seconds, tenants_with_due_work

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
TIMEOUT_SECONDS = 10
STALE_SENDING = timedelta(minutes=10)
OVERDUE = timedelta(minutes=1)


class PermanentRefusal(Exception):
    pass


def enqueue_webhook(tenant_id, escalation_id) -> None:
    enqueue(deliver_webhook.name, str(tenant_id), str(escalation_id), queue="default")


def post(url: str, raw: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=raw, method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": "Townhall-Webhook/1",
                                              **headers})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 (http(s) only)
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@celery_app.task(name=jobs.DELIVER_ESCALATION, bind=True, max_retries=MAX_ATTEMPTS + 1, acks_late=True)
def deliver_webhook(self, tenant_id: str, escalation_id: str) -> str:
    tid, eid = parse_uuid(tenant_id), parse_uuid(escalation_id)
    if tid is None or eid is None:
        return "bad ids"
    with tenant_scope(tid) as tx:
        row = tx.one("with due as (select id from escalations where id = %s and webhook_status = 'pending'"
                     " and webhook_next_at <= now() + interval '1 second' for update skip locked)"
                     " update escalations e set webhook_status = 'sending', webhook_attempts = webhook_attempts + 1,"
                     " webhook_claimed_at = now() from due where e.id = due.id returning e.*", [eid])
        if row is None:
            return "not due"   # delivered, claimed elsewhere, waiting for its backoff, or another tenant's id
        tenant = tx.one("select slug, settings from tenants where id = %s", [tid])
        room_title = tx.value("select title from rooms where id = %s", [row["room_id"]]) or ""
        staff_name = tx.value("select display_name from staff_users where id = %s", [row["staff_id"]]) or ""
    secret = (tenant["settings"] or {}).get("escalation_webhook_secret") or ""
    raw = encode(payload(row, tenant, room_title, staff_name))
    stamp = str(int(time.time()))
    headers = {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: signature(secret, stamp, raw),
               "X-Townhall-Delivery": str(row["id"]), "X-Townhall-Event": "safeguarding.escalation"}
    try:
        status = post(row["webhook_url"], raw, headers)
        if 200 <= status < 300:
            _finish(tid, eid, "delivered", None)
            return "delivered"
        if 400 <= status < 500 and status not in (408, 429):
            raise PermanentRefusal(f"refused with HTTP {status}")
        raise OSError(f"HTTP {status}")
    except PermanentRefusal as exc:
        _finish(tid, eid, "failed", str(exc))
        log.warning("escalation webhook %s refused: %s", eid, exc)
        return "failed"
    except (OSError, ValueError) as exc:
        reason = f"{exc.__class__.__name__}: {exc}"[:500]
        if row["webhook_attempts"] >= MAX_ATTEMPTS:
            _finish(tid, eid, "failed", reason)
            return "failed"
        delay = backoff_seconds(row["webhook_attempts"])
        with tenant_scope(tid) as tx:
            tx.execute("update escalations set webhook_status = 'pending', webhook_last_error = %s,"
                       " webhook_next_at = now() + make_interval(secs => %s) where id = %s"
                       " and webhook_status = 'sending'", [reason, delay, eid])
        log.info("escalation webhook %s not delivered (%s); retrying in %ss", eid, reason, delay)
        raise self.retry(countdown=delay, exc=exc)


def _finish(tenant_id, escalation_id, status: str, error: str | None) -> None:
    with tenant_scope(tenant_id) as tx:
        tx.execute("update escalations set webhook_status = %s, webhook_last_error = %s,"
                   " webhook_delivered_at = case when %s = 'delivered' then now() end"
                   " where id = %s and webhook_status = 'sending'", [status, error, status, escalation_id])


def tenants_with_work(kind: str, at) -> list:
    return tenants_with_due_work(kind, at, "townhall_tenants_with_engagement_work")


@celery_app.task(name="townhall.escalations.sweep", acks_late=True)
def sweep(now: str | None = None) -> int:
    """Re-enqueue webhook deliveries whose task was lost, and ones stuck in `sending`."""
    at = moment(now)
    count = 0
    for tenant_id in tenants_with_work("webhooks", at - OVERDUE):
        with tenant_scope(tenant_id) as tx:
            tx.execute("update escalations set webhook_status = 'pending' where webhook_status = 'sending'"
                       " and webhook_claimed_at <= %s", [at - STALE_SENDING])
            rows = tx.all("select id from escalations where webhook_status = 'pending' and webhook_next_at <= %s"
                          " for update skip locked", [at - OVERDUE])
            for r in rows:
                tx.after_commit(lambda eid=r["id"], tid=tenant_id: enqueue_webhook(tid, eid))
        count += len(rows)
    return count
