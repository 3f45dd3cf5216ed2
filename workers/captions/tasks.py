"""The `media`-queue task: extract the audio, transcribe it, store WebVTT captions.

Idempotent (the same file gives the same captions) and keyed on the media row; captions that
staff corrected are never overwritten. A file that cannot be decoded marks the row failed with a
message for staff; the task is acknowledged late, so a killed worker's job runs again elsewhere.
"""
from __future__ import annotations

import logging
import time
from datetime import timedelta
from pathlib import Path

from flask import current_app

from services.ops import jobs
from tenants.ids import parse_uuid
from services.media import webvtt
from tenants.db import tenant_scope
from services.media.audio import SAMPLE_RATE, AudioError, load_samples
from workers.captions.engine import get_engine
from workers.celery_app import celery_app, enqueue, moment
from workers.mail import tenants_with_due_work

log = logging.getLogger(__name__)


def transcribe_media(tenant_id, media_id) -> str:
    with tenant_scope(tenant_id) as tx:
        media = tx.one("select * from media where id = %s for update", [media_id])
        if media is None:
            return "not found"   # missing, or another tenant's id
        if media["captions_edited"]:
            return "edited by staff"
        tx.execute("update media set status = 'processing', updated_at = now() where id = %s", [media_id])
    path = Path(current_app.config["TOWNHALL"].media_dir) / media["storage_path"]
    started = time.perf_counter()
    try:
        samples = load_samples(path)
    except (AudioError, OSError) as exc:
        message = str(exc) if isinstance(exc, AudioError) else "The stored recording could not be read."
        with tenant_scope(tenant_id) as tx:
            tx.execute("update media set status = 'failed', error = %s, updated_at = now() where id = %s"
                       " and not captions_edited", [message, media_id])
        return "failed"
    duration = len(samples) / SAMPLE_RATE
    engine = get_engine()
    cues = engine.transcribe(samples, SAMPLE_RATE)
    vtt = webvtt.write(cues, duration)
    elapsed = time.perf_counter() - started
    with tenant_scope(tenant_id) as tx:
        updated = tx.one("update media set status = 'ready', captions_vtt = %s, engine = %s, duration_seconds = %s,"
                         " processing_seconds = %s, error = null, updated_at = now()"
                         " where id = %s and not captions_edited returning room_id",
                         [vtt, engine.name, duration, elapsed, media_id])
        room = tx.one("select id, state from rooms where id = %s", [updated["room_id"]]) if updated else None
        if room and room["state"] in ("closed", "archived"):
            tx.after_commit(lambda: jobs.enqueue(jobs.BUILD_TRANSCRIPT, str(tenant_id), str(room["id"])))
    log.info("captions for media %s: %s cues, %.1fs audio in %.1fs", media_id, len(cues), duration, elapsed)
    return "ready"


@celery_app.task(name=jobs.TRANSCRIBE_MEDIA, acks_late=True)
def transcribe(tenant_id: str, media_id: str) -> str:
    tid, mid = parse_uuid(tenant_id), parse_uuid(media_id)
    if tid is None or mid is None:
        return "bad ids"
    return transcribe_media(tid, mid)


def enqueue_captions(tenant_id, media_id) -> None:
    enqueue(transcribe.name, str(tenant_id), str(media_id), queue="media")


@celery_app.task(name="townhall.captions.sweep", acks_late=True)
def sweep(now: str | None = None) -> int:
    """Recordings still waiting after ten minutes (their task was lost): enqueue them again."""
    cutoff = moment(now) - timedelta(minutes=10)
    count = 0
    for tenant_id in tenants_with_due_work("media", cutoff):
        with tenant_scope(tenant_id) as tx:
            waiting = tx.all("select id from media where status = 'queued' and created_at <= %s", [cutoff])
        for row in waiting:
            enqueue_captions(tenant_id, row["id"])
        count += len(waiting)
    return count
