"""Live caption lines: a final line is stored once (keyed by its first sample) and appended to the
room event log in the same transaction, so a resident who joins late or reconnects gets every
line so far; a partial line (a phrase still being spoken, revised each second) is only emitted.
When the chat closes, the lines become the WebVTT of a recording of the live audio."""
from __future__ import annotations

import uuid
import wave
from pathlib import Path

from services.captions.stream import SAMPLE_RATE
from services.media import webvtt
from services.ops import jobs
from services.rooms import broadcast
from services.rooms.channels import room_channel
from services.rooms.event_log import append_room_event
from tenants.db import Tx

MAX_LINE = 2000
RECORDING_TITLE = "Live audio (captioned as it happened)"


def caption_view(segment: int, end_sample: int, text: str) -> dict:
    return {"id": segment, "start": round(segment / SAMPLE_RATE, 3), "end": round(end_sample / SAMPLE_RATE, 3),
            "text": text}


def record_final(tx: Tx, room_id, segment: int, end_sample: int, text: str, engine: str) -> dict | None:
    """Store a final line and publish it; None when this phrase (or one overlapping it) is already stored."""
    text = " ".join(text.split())[:MAX_LINE]
    if not text:
        return None
    row = tx.one("insert into live_captions (tenant_id, room_id, segment, end_sample, body, engine)"
                 " select %s, %s, %s, %s, %s, %s where not exists (select 1 from live_captions"
                 "  where room_id = %s and end_sample > %s)"
                 " on conflict do nothing returning segment",
                 [tx.tenant_id, room_id, segment, end_sample, text, engine, room_id, segment])
    if row is None:
        return None
    view = caption_view(segment, end_sample, text)
    append_room_event(tx, room_id, "caption.final", view)
    return view


def send_partial(room_id, segment: int, end_sample: int, text: str) -> None:
    """A phrase still being spoken: best effort, not in the log (its final line is)."""
    text = " ".join(text.split())[:MAX_LINE]
    if text:
        broadcast.emit("caption_partial", caption_view(segment, end_sample, text), to=room_channel(room_id))


def captions_so_far(tx: Tx, room_id) -> list[dict]:
    rows = tx.all("select segment, end_sample, body from live_captions where room_id = %s order by segment",
                  [room_id])
    return [caption_view(r["segment"], r["end_sample"], r["body"]) for r in rows]


def captions_vtt(tx: Tx, room_id, duration: float | None = None) -> str:
    cues = [webvtt.Cue(c["start"], c["end"], c["text"]) for c in captions_so_far(tx, room_id)]
    return webvtt.write(cues, duration)


def recording_id(room_id) -> uuid.UUID:
    """The live audio's media row: one per room, the same id however often it is made."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"townhall:live-captions:{room_id}")


def write_wav(pcm_path: Path, wav_path: Path) -> float:
    data = pcm_path.read_bytes()
    wav_path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(wav_path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(data)
    return len(data) / 2 / SAMPLE_RATE


def attach_live_recording(tx: Tx, room_id, media_dir: Path, pcm_path: Path, engine: str) -> dict | None:
    """The chat closed: its live audio becomes a recording whose captions are the live lines (staff
    correct them in the console as for any recording). Made once per room."""
    if not tx.value("select exists (select 1 from live_captions where room_id = %s)", [room_id]):
        return None
    media_id = recording_id(room_id)
    if tx.value("select exists (select 1 from media where id = %s)", [media_id]):
        return None    # made already (audio sent after the close cannot replace it)
    relative = f"{tx.tenant_id}/{media_id}.wav"
    duration = write_wav(pcm_path, media_dir / relative) if pcm_path.exists() else None
    size = (media_dir / relative).stat().st_size if duration is not None else 1
    vtt = captions_vtt(tx, room_id, duration)
    row = tx.one("insert into media (id, tenant_id, room_id, title, kind, content_type, size_bytes, storage_path,"
                 " status, captions_vtt, engine, duration_seconds) values (%s, %s, %s, %s, 'audio', 'audio/wav',"
                 " %s, %s, 'ready', %s, %s, %s) on conflict (id) do nothing returning *",
                 [media_id, tx.tenant_id, room_id, RECORDING_TITLE, max(1, size), relative, vtt, engine, duration])
    tenant_id = tx.tenant_id
    tx.after_commit(lambda: jobs.enqueue(jobs.BUILD_TRANSCRIPT, str(tenant_id), str(room_id)))
    return row
