"""Retention: the daily task applies each tenant's rules (services/retention/actions.py), then
removes recording files that no row names any more (services/media/retention.py)."""
from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime

from services.media.retention import remove_orphan_files
from services.retention.actions import purge_tenant
from workers.celery_app import celery_app, moment
from workers.mail import tenants_with_due_work

log = logging.getLogger(__name__)


def purge(now: datetime) -> dict:
    totals = Counter({"registrations": 0, "mail_messages": 0, "network_hashes": 0, "recordings": 0})
    for tenant_id in tenants_with_due_work("retention", now):
        totals.update(purge_tenant(tenant_id, now))
    totals["orphan_files"] = remove_orphan_files(now.timestamp())
    return dict(totals)


@celery_app.task(name="townhall.retention.purge", acks_late=True)
def purge_task(now: str | None = None) -> dict:
    totals = purge(moment(now))
    log.info("retention purge: %s", totals)
    return totals
