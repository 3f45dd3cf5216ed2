"""Recordings follow the tenant's retention rule: files, rows and captions go together, the
transcript is rebuilt without the captions, another tenant's recordings stay, and files that no
row names any more are cleared a day later."""
from __future__ import annotations

import os
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb

from services.media.actions import media_dir
from services.media.retention import ORPHAN_AGE_SECONDS, remove_orphan_files
from services.rooms.actions import change_state
from services.transcripts.build import build_and_store
from tenants.db import tenant_scope
from tests.support.workers import wait_until
from workers import retention

CAPTION = "The new station on the High Street opens next spring."


def _recorded_closed_chat(make_world, settings: dict | None = None) -> tuple:
    world = make_world(state="live")
    media_id = uuid.uuid4()
    relative = f"{world.tenant.id}/{media_id}.wav"
    path = media_dir() / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF....WAVEfmt ")
    with tenant_scope(world.tenant.id) as tx:
        if settings:
            tx.execute("update tenants set settings = settings || %s where id = %s", [Jsonb(settings), world.tenant.id])
        tx.execute("insert into media (id, tenant_id, room_id, title, kind, content_type, size_bytes, storage_path,"
                   " status, captions_vtt) values (%s, %s, %s, 'Opening words', 'audio', 'audio/wav', 16, %s,"
                   " 'ready', %s)", [media_id, world.tenant.id, world.room["id"], relative,
                                     f"WEBVTT\n\n00:00.000 --> 00:04.000\n{CAPTION}\n"])
        change_state(tx, world.host, world.room["id"], "closed")
        tx._after_commit.clear()   # the transcript is built here, not by a worker
    build_and_store(world.tenant.id, world.room["id"])
    return world, path


def _age_room(stack, world, days: int) -> None:
    with psycopg.connect(stack.owner_url) as conn:
        shift = timedelta(days=days)
        conn.execute("update rooms set starts_at = starts_at - %s, ends_at = ends_at - %s, closed_at = closed_at - %s"
                     " where id = %s", [shift, shift, shift, world.room["id"]])


def _transcript(world) -> dict:
    with tenant_scope(world.tenant.id) as tx:
        return tx.one("select text, generation from transcripts where room_id = %s", [world.room["id"]])


def _recordings(world) -> int:
    with tenant_scope(world.tenant.id) as tx:
        return tx.value("select count(*) from media")


def test_recordings_are_purged_with_their_files_and_captions(app_ctx, stack, make_world, worker):
    short, short_file = _recorded_closed_chat(make_world, {"recordings_retention_days": 30})
    kept, kept_file = _recorded_closed_chat(make_world)   # default: kept with the transcript
    assert CAPTION in _transcript(short)["text"]
    for world in (short, kept):
        _age_room(stack, world, 40)

    totals = retention.purge_task.run(datetime.now(timezone.utc).isoformat())

    assert totals["recordings"] == 1
    assert _recordings(short) == 0 and not short_file.exists()
    assert _recordings(kept) == 1 and kept_file.exists(), "another tenant's recordings follow its own rule"
    with tenant_scope(short.tenant.id) as tx:
        audit = tx.one("select actor_kind, details from audit_log where action = 'retention.purged'")
    assert audit["actor_kind"] == "system"
    assert audit["details"]["recordings"] == 1 and audit["details"]["recordings_retention_days"] == 30
    wait_until(lambda: _transcript(short)["generation"] == 2, timeout=30, message="the transcript rebuilt")
    assert CAPTION not in _transcript(short)["text"], "the captions went with the recording"
    assert CAPTION in _transcript(kept)["text"]


def test_recordings_inside_the_period_are_kept(app_ctx, stack, make_world):
    world, path = _recorded_closed_chat(make_world, {"recordings_retention_days": 60})
    _age_room(stack, world, 40)
    assert retention.purge(datetime.now(timezone.utc))["recordings"] == 0
    assert _recordings(world) == 1 and path.exists()


def test_files_no_row_names_are_removed_a_day_later(app_ctx, make_world):
    world, named = _recorded_closed_chat(make_world)
    tenant_dir = named.parent
    old = time.time() - ORPHAN_AGE_SECONDS - 60
    stale = tenant_dir / f"{uuid.uuid4()}.wav"              # e.g. from a deleted draft chat
    fresh = tenant_dir / f"{uuid.uuid4()}.wav"              # an upload whose row is not committed yet
    purged_tenant = media_dir() / str(uuid.uuid4())        # a tenant deleted after its grace period
    purged_tenant.mkdir()
    gone_tenant_file = purged_tenant / f"{uuid.uuid4()}.mp4"
    for path in (stale, fresh, gone_tenant_file):
        path.write_bytes(b"x")
    for path in (stale, gone_tenant_file, named):
        os.utime(path, (old, old))
    uploads = media_dir() / "tmp"
    uploads.mkdir(exist_ok=True)
    in_progress = uploads / "upload-in-progress"
    in_progress.write_bytes(b"x")
    os.utime(in_progress, (old, old))

    assert remove_orphan_files() >= 2
    assert not stale.exists() and not gone_tenant_file.exists()
    assert named.exists() and fresh.exists() and in_progress.exists()
    assert _recordings(world) == 1


def test_the_settings_page_offers_the_recordings_rule(app_ctx, make_world, client, signed_in):
    world = make_world(state="scheduled")
    admin = signed_in(world.tenant, world.admin)
    form = {"mode": "moderated", "votes_enabled": "on", "slow_mode_seconds": "30", "retention_days": "90",
            "languages": "en"}
    base = f"/t/{world.tenant.slug}/console/settings"
    page = admin.get(base).get_data(as_text=True)
    assert 'id="recordings_retention_days"' in page and "as long as the transcript" in page

    bad = admin.post(f"{base}/defaults", data={**form, "recordings_retention_days": "7"})
    assert bad.status_code == 400 and "30 to 3650 days" in bad.get_data(as_text=True)
    assert admin.post(f"{base}/defaults", data={**form, "recordings_retention_days": "45"}).status_code == 302
    assert _settings(world)["recordings_retention_days"] == 45
    assert 'value="45"' in admin.get(base).get_data(as_text=True)
    assert admin.post(f"{base}/defaults", data={**form, "recordings_retention_days": ""}).status_code == 302
    assert _settings(world)["recordings_retention_days"] is None


def _settings(world) -> dict:
    with tenant_scope(world.tenant.id) as tx:
        return tx.value("select settings from tenants where id = %s", [world.tenant.id])
