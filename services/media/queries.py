"""Reading media attached to rooms, and their captions."""
from __future__ import annotations

from uuid import UUID

from services.lib.i18n import N_
from tenants.ids import parse_uuid
from services.media.webvtt import caption_text
from tenants.db import Tx
from tenants.errors import NotFound


def room_media(tx: Tx, room_id: UUID) -> list[dict]:
    return tx.all("select * from media where room_id = %s order by created_at, id", [room_id])


def public_media(tx: Tx, room_id: UUID) -> list[dict]:
    """Media residents can play: uploaded and processed (with captions when the engine made them)."""
    return [{**m, "caption_text": caption_text(m["captions_vtt"]) if m["captions_vtt"] else ""}
            for m in room_media(tx, room_id) if m["status"] == "ready"]


def get_media(tx: Tx, media_id, *, for_update: bool = False) -> dict:
    mid = parse_uuid(media_id)
    row = tx.one("select * from media where id = %s" + (" for update" if for_update else ""), [mid]) if mid else None
    if row is None:
        raise NotFound(N_("We could not find that recording."))
    return row
