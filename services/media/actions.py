"""Attaching audio or video to a room, and correcting its captions.

An upload is received into a temporary file under MEDIA_DIR, checked (not empty, under the size
limit, its type sniffed from its first bytes, its sound readable), and only then given a row; the
file is moved to its final name inside the same transaction, so a refused or failed upload leaves
neither a row nor a file behind.
"""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import current_app

from services.media import webvtt
from services.media.queries import get_media
from services.ops import jobs
from services.rooms.queries import get_room
from tenants import audit
from tenants.auth import Staff
from tenants.db import Tx
from tenants.errors import Conflict, ValidationFailed
from tenants.roles import require
from services.media.audio import AudioError, ffmpeg_available, probe_duration


CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Sniffed:
    kind: str           # audio | video
    content_type: str
    extension: str


def sniff(head: bytes) -> Sniffed | None:
    """The file's type from its first bytes (never from its name or the browser's claim)."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return Sniffed("audio", "audio/wav", "wav")
    if head[:4] == b"fLaC":
        return Sniffed("audio", "audio/flac", "flac")
    if head[:4] == b"OggS":
        return Sniffed("audio", "audio/ogg", "ogg")
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return Sniffed("audio", "audio/mpeg", "mp3")
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"M4A ", b"M4B "):
            return Sniffed("audio", "audio/mp4", "m4a")
        if brand == b"qt  ":
            return Sniffed("video", "video/quicktime", "mov")
        return Sniffed("video", "video/mp4", "mp4")
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return Sniffed("video", "video/webm", "webm")
    return None


def media_dir() -> Path:
    return Path(current_app.config["TOWNHALL"].media_dir)


def size_text(n: int) -> str:
    return f"{n // (1024 * 1024)} MB" if n >= 1024 * 1024 else f"{max(1, n // 1024)} KB"


def receive(stream: BinaryIO, max_bytes: int) -> tuple[Path, int]:
    """Copy an upload to a temporary file, refusing it as soon as it passes the limit."""
    tmp_dir = media_dir() / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    path = tmp_dir / f"{uuid.uuid4().hex}.part"
    size = 0
    try:
        with open(path, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise ValidationFailed(f"The file is larger than the {size_text(max_bytes)} limit. "
                                           "Upload a shorter or more compressed recording.", field="file")
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, size


def check_upload(path: Path, size: int) -> tuple[Sniffed, float]:
    if size == 0:
        raise ValidationFailed("The file is empty (0 bytes). Choose the recording again.", field="file")
    with open(path, "rb") as f:
        kind = sniff(f.read(64))
    if kind is None:
        raise ValidationFailed("This file is not an audio or video recording we can use. Upload WAV, MP3, M4A, "
                               "OGG, FLAC, MP4, MOV or WebM.", field="file")
    if kind.extension != "wav" and not ffmpeg_available():
        raise ValidationFailed("This server can process WAV audio only (ffmpeg is not installed). "
                               "Convert the recording to WAV and upload it again.", field="file")
    try:
        duration = probe_duration(path)
    except AudioError as exc:
        raise ValidationFailed(str(exc), field="file") from None
    return kind, duration


def attach_media(tx: Tx, staff: Staff, room_id, *, title: str, upload: Path, size: int) -> dict:
    """Check the received file, then give it a row and its final name in this transaction."""
    require(staff.role, "room.edit")
    room = get_room(tx, room_id)
    if room["state"] == "archived":
        raise Conflict("An archived chat cannot take new recordings.")
    kind, _duration = check_upload(upload, size)
    media_id = uuid.uuid4()
    relative = f"{tx.tenant_id}/{media_id}.{kind.extension}"
    row = tx.one("insert into media (id, tenant_id, room_id, title, kind, content_type, size_bytes, storage_path,"
                 " created_by) values (%s, %s, %s, %s, %s, %s, %s, %s, %s) returning *",
                 [media_id, tx.tenant_id, room["id"], title, kind.kind, kind.content_type, size, relative, staff.id])
    audit.record_staff(tx, staff, "media.attached", "media", media_id,
                       {"room": str(room["id"]), "type": kind.content_type, "bytes": size})
    final = media_dir() / relative
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(upload, final)   # still inside the transaction: the caller removes it if the commit fails
    tenant_id = tx.tenant_id

    tx.after_commit(lambda: jobs.enqueue(jobs.TRANSCRIBE_MEDIA, str(tenant_id), str(media_id)))
    return row


def save_captions(tx: Tx, staff: Staff, media_id, text: str) -> dict:
    """Staff correct the captions: the text must be valid WebVTT; the engine never overwrites it."""
    require(staff.role, "room.edit")
    media = get_media(tx, media_id, for_update=True)
    cues = webvtt.parse(text)
    if not cues:
        raise ValidationFailed("The captions have no cues. Add at least one timed caption.", field="captions")
    normalised = webvtt.write(cues, media["duration_seconds"])
    updated = tx.one("update media set captions_vtt = %s, captions_edited = true, status = 'ready', error = null,"
                     " updated_at = now() where id = %s returning *", [normalised, media["id"]])
    audit.record_staff(tx, staff, "media.captions_corrected", "media", media["id"], {"cues": len(cues)})
    room = get_room(tx, media["room_id"])
    if room["state"] in ("closed", "archived"):   # the transcript carries the caption text
        tenant_id = tx.tenant_id
        tx.after_commit(lambda: jobs.enqueue(jobs.BUILD_TRANSCRIPT, str(tenant_id), str(room["id"])))
    return updated
