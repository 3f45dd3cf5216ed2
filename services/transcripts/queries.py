"""Reading stored transcripts (built by workers/transcripts.py)."""
from __future__ import annotations

from uuid import UUID

from tenants.db import Tx


def transcript_exists(tx: Tx, room_id: UUID) -> bool:
    return bool(tx.value("select exists (select 1 from transcripts where room_id = %s)", [room_id]))


def get_transcript(tx: Tx, room_id: UUID) -> dict | None:
    return tx.one("select * from transcripts where room_id = %s", [room_id])
