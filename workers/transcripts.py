"""Transcript tasks: build a closed room's transcript (services/transcripts/build.py), and a sweep
for closed rooms whose build was lost."""
from __future__ import annotations

import logging
from datetime import timedelta

from services.ops import jobs
from services.transcripts.build import build_and_store
from tenants.db import tenant_scope
from tenants.ids import parse_uuid
from workers.celery_app import celery_app, moment
from workers.mail import tenants_with_due_work

log = logging.getLogger(__name__)

SWEEP_GRACE = timedelta(minutes=2)


@celery_app.task(name=jobs.BUILD_TRANSCRIPT, acks_late=True)
def build_transcript(tenant_id: str, room_id: str) -> str:
    tid, rid = parse_uuid(tenant_id), parse_uuid(room_id)
    if tid is None or rid is None:
        return "bad ids"
    outcome = build_and_store(tid, rid)
    log.info("transcript of room %s: %s", rid, outcome)
    return outcome


@celery_app.task(name="townhall.transcripts.sweep", acks_late=True)
def sweep(now: str | None = None) -> int:
    cutoff = moment(now) - SWEEP_GRACE
    count = 0
    for tenant_id in tenants_with_due_work("transcripts", cutoff):
        with tenant_scope(tenant_id) as tx:
            rooms = tx.all("select r.id from rooms r where r.state in ('closed', 'archived') and r.closed_at <= %s"
                           " and not exists (select 1 from transcripts t where t.room_id = r.id)",
                           [cutoff])
        for r in rooms:
            jobs.enqueue(jobs.BUILD_TRANSCRIPT, str(tenant_id), str(r["id"]))
        count += len(rooms)
    return count
