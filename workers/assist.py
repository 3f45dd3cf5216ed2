"""Moderator assist: theme suggestions for a closed chat (services/assist/suggestions.py).
Idempotent and committed in batches, so a redelivered task (acks_late after a killed worker)
finishes the work without doubling any suggestion."""
from __future__ import annotations

import logging

from services.assist.suggestions import suggest_for_room
from services.ops import jobs
from tenants.ids import parse_uuid
from workers.celery_app import celery_app

log = logging.getLogger(__name__)


@celery_app.task(name=jobs.SUGGEST_THEMES, acks_late=True, reject_on_worker_lost=True)
def suggest_themes(tenant_id: str, room_id: str) -> str:
    tid, rid = parse_uuid(tenant_id), parse_uuid(room_id)
    if tid is None or rid is None:
        return "bad ids"
    outcome = suggest_for_room(tid, rid)
    log.info("theme suggestions for room %s: %s", rid, outcome)
    return outcome
