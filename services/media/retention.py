"""Recordings past the tenant's retention rule: rows (with their captions) and files go together.

Rows are deleted in the caller's transaction and the files after COMMIT, so a failed purge
loses nothing. A transcript that carried a deleted recording's captions is rebuilt without them.
Files whose row is gone by another path (a deleted draft chat, a purged tenant, a crash between
COMMIT and unlink) are found by `remove_orphan_files`, once they are a day old: an upload is moved
into place just before its row commits, so a younger file may simply not be committed yet.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

from services.media.actions import media_dir
from services.ops import jobs
from tenants.db import Tx, tenant_scope
from tenants.ids import parse_uuid

log = logging.getLogger(__name__)

ORPHAN_AGE_SECONDS = 24 * 3600


def purge_recordings(tx: Tx, ended_before) -> int:
    """Delete the recordings of chats that ended (closed or archived) before `ended_before`."""
    gone = tx.all("delete from media m using rooms r where r.id = m.room_id and r.state in ('closed', 'archived')"
                  " and coalesce(r.closed_at, r.ends_at) < %s"
                  " returning m.storage_path, m.room_id, m.captions_vtt is not null as captioned", [ended_before])
    if not gone:
        return 0
    files = [media_dir() / row["storage_path"] for row in gone]
    tx.after_commit(lambda: _remove(files))
    captioned = list({row["room_id"] for row in gone if row["captioned"]})
    rebuild = [r["room_id"] for r in tx.all("select room_id from transcripts where room_id = any(%s)", [captioned])]
    tenant_id = str(tx.tenant_id)
    for room_id in rebuild:
        tx.after_commit(lambda room_id=room_id: jobs.enqueue(jobs.BUILD_TRANSCRIPT, tenant_id, str(room_id)))
    return len(gone)


def remove_orphan_files(now: float | None = None) -> int:
    """Delete files under MEDIA_DIR/<tenant>/ that no recording row names, a day after they were written."""
    root = media_dir()
    if not root.is_dir():
        return 0
    cutoff = (now or time.time()) - ORPHAN_AGE_SECONDS
    removed = 0
    for folder in root.iterdir():
        tenant_id = parse_uuid(folder.name)
        if tenant_id is None or not folder.is_dir():
            continue   # tmp/ (uploads in progress) and anything not ours
        with tenant_scope(tenant_id) as tx:   # a purged tenant's scope sees no rows: all its files go
            named = {r["storage_path"] for r in tx.all("select storage_path from media")}
        old = [f for f in folder.iterdir() if f.is_file() and f.stat().st_mtime < cutoff
               and f"{folder.name}/{f.name}" not in named]
        removed += _remove(old)
    return removed


def _remove(files: list[Path]) -> int:
    removed = 0
    for path in files:
        try:
            path.unlink(missing_ok=True)
            removed += 1
        except OSError as exc:   # left for remove_orphan_files to retry
            log.warning("could not delete recording file %s (%s)", path.name, exc.__class__.__name__)
    return removed
