"""Retention: what the daily task deletes for one tenant, under the tenant's own rules.

- Personal data older than `retention_days` (default 90): registrations (their emails and
  reminder rows), the messages sent to them, and participants' network hashes. "Older" means a
  registration whose room ended (or which was never confirmed, or was unsubscribed) more than the
  period ago; a message created more than the period ago; a network hash of a participant who
  joined more than the period ago.
- Recordings, with their captions, `recordings_retention_days` after their chat ended, when the
  tenant sets it; by default they are kept with the transcript (services/media/retention.py).

Transcripts, questions under display names and aggregate figures stay. Each purge is counted in
the audit log (actor 'system'). Time comes from the caller.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from services.media.retention import purge_recordings
from tenants import audit
from tenants.branding import DEFAULTS
from tenants.db import tenant_scope

DEFAULT_RETENTION_DAYS = DEFAULTS["retention_days"]
MIN_RETENTION_DAYS = 30
MAX_RETENTION_DAYS = 3650


def _days(value) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_RETENTION_DAYS:
        return value
    return None


def retention_days(settings: dict | None) -> int:
    return _days((settings or {}).get("retention_days")) or DEFAULT_RETENTION_DAYS


def recordings_retention_days(settings: dict | None) -> int | None:
    """None: recordings are kept with the transcript."""
    return _days((settings or {}).get("recordings_retention_days"))


def _purge_personal_data(tx, cutoff: datetime) -> dict:
    registrations = tx.execute(
        "delete from registrations g using rooms r where r.id = g.room_id and ("
        " coalesce(r.closed_at, r.ends_at) < %(cutoff)s"
        " or (g.status = 'pending' and g.created_at < %(cutoff)s)"
        " or (g.status = 'unsubscribed' and g.unsubscribed_at < %(cutoff)s))", {"cutoff": cutoff}).rowcount
    mails = tx.execute("delete from outbound_mail where created_at < %s and status in ('sent', 'failed')",
                       [cutoff]).rowcount
    hashes = tx.execute("update participants set network_hash = null where network_hash is not null"
                        " and created_at < %s", [cutoff]).rowcount
    return {"registrations": registrations, "mail_messages": mails, "network_hashes": hashes}


def purge_tenant(tenant_id, now: datetime) -> dict:
    with tenant_scope(tenant_id) as tx:
        settings = tx.value("select settings from tenants where id = %s", [tenant_id])
        days = retention_days(settings)
        cutoff = now - timedelta(days=days)
        counts = _purge_personal_data(tx, cutoff)
        details = {"retention_days": days, "cutoff": cutoff.isoformat()}
        recording_days = recordings_retention_days(settings)
        counts["recordings"] = 0
        if recording_days is not None:
            counts["recordings"] = purge_recordings(tx, now - timedelta(days=recording_days))
            details["recordings_retention_days"] = recording_days
        if any(counts.values()):
            audit.record(tx, actor_kind="system", actor_label="retention", action="retention.purged",
                         target_kind="tenant", target_id=tenant_id, details={**counts, **details})
    return counts
