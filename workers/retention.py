"""Retention: a daily task deletes residents' personal data older than the tenant's retention
period (tenant setting `retention_days`, default 90): registrations (their emails and reminder
rows), the messages sent to them, and participants' network hashes. Transcripts, questions under
display names and aggregate figures stay. Each purge is counted in the audit log (actor 'system').

"Older" means: a registration whose room ended (or which was never confirmed, or was
unsubscribed) more than the period ago; a message created more than the period ago; a network
hash of a participant who joined more than the period ago. Time comes from the caller.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from tenants import audit
from tenants.db import tenant_scope
from workers.celery_app import celery_app, moment
from workers.mail import tenants_with_due_work

log = logging.getLogger(__name__)

DEFAULT_RETENTION_DAYS = 90
MAX_RETENTION_DAYS = 3650


def retention_days(settings: dict | None) -> int:
    value = (settings or {}).get("retention_days")
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_RETENTION_DAYS:
        return value
    return DEFAULT_RETENTION_DAYS


def purge_tenant(tenant_id, now: datetime) -> dict:
    with tenant_scope(tenant_id) as tx:
        days = retention_days(tx.value("select settings from tenants where id = %s", [tenant_id]))
        cutoff = now - timedelta(days=days)
        registrations = tx.execute(
            "delete from registrations g using rooms r where r.id = g.room_id and ("
            " coalesce(r.closed_at, r.ends_at) < %(cutoff)s"
            " or (g.status = 'pending' and g.created_at < %(cutoff)s)"
            " or (g.status = 'unsubscribed' and g.unsubscribed_at < %(cutoff)s))", {"cutoff": cutoff}).rowcount
        mails = tx.execute("delete from outbound_mail where created_at < %s and status in ('sent', 'failed')",
                           [cutoff]).rowcount
        hashes = tx.execute("update participants set network_hash = null where network_hash is not null"
                            " and created_at < %s", [cutoff]).rowcount
        counts = {"registrations": registrations, "mail_messages": mails, "network_hashes": hashes}
        if any(counts.values()):
            audit.record(tx, actor_kind="system", actor_label="retention", action="retention.purged",
                         target_kind="tenant", target_id=tenant_id,
                         details={**counts, "retention_days": days, "cutoff": cutoff.isoformat()})
    return counts


def purge(now: datetime) -> dict:
    totals = {"registrations": 0, "mail_messages": 0, "network_hashes": 0}
    for tenant_id in tenants_with_due_work("retention", now):
        for key, value in purge_tenant(tenant_id, now).items():
            totals[key] += value
    return totals


@celery_app.task(name="townhall.retention.purge", acks_late=True)
def purge_task(now: str | None = None) -> dict:
    totals = purge(moment(now))
    log.info("retention purge: %s", totals)
    return totals
