"""`caption_audio`: a host's microphone, in binary chunks on their authenticated staff connection,
appended to the room's audio stream in Redis for the caption worker (one round trip; nothing here
waits on the engine, so the delivery loop is never held up).

Refused for residents and viewers, for staff without the `captions.speak` permission, for rooms
that are not live; the tenant scope finds no other tenant's room. A chunk is at most one second
of audio and a connection may send about twice real time (bursts of three seconds)."""
from __future__ import annotations

import logging
from time import monotonic

from flask import request
from flask_babel import gettext as _

from services.captions.schemas import AudioChunkSchema
from services.captions.speakers import check_speaker
from services.captions.stream import MAX_CHUNK_BYTES, append_chunk
from services.lib.validation import load
from services.ops.redis_client import redis_client
from services.web.extensions import socketio
from services.web.live.events import _in_its_language, _live_staff, _one_payload, _refusal, _too_fast, connections
from tenants.db import tenant_scope
from tenants.errors import DomainError, Unavailable

log = logging.getLogger(__name__)

BYTES_PER_SECOND = 2 * MAX_CHUNK_BYTES     # twice real time
RECHECK_SECONDS = 5.0                      # role and room state are read again this often


class AudioBudget:
    def __init__(self):
        self.tokens = BYTES_PER_SECOND * 3.0
        self.at = monotonic()
        self.checked_until = 0.0

    def take(self, size: int) -> bool:
        now = monotonic()
        self.tokens = min(BYTES_PER_SECOND * 3.0, self.tokens + (now - self.at) * BYTES_PER_SECOND)
        self.at = now
        if self.tokens < size:
            return False
        self.tokens -= size
        return True


@socketio.on("caption_audio")
@_in_its_language
def on_caption_audio(*args):
    if len(args) > 1:
        return _one_payload()
    conn = connections.get(request.sid)
    if conn is None or conn.identity.kind != "staff":
        return {"ok": False, "error": "forbidden", "message": _("Only the chat's host can send live audio.")}
    budget = conn.audio = conn.audio or AudioBudget()   # held by the connection: gone when it goes
    try:
        data = load(AudioChunkSchema, args[0] if args else None)
        audio = data["audio"] or b""
        if not budget.take(len(audio)):
            return _too_fast()
        now = monotonic()
        if now >= budget.checked_until:
            with tenant_scope(conn.identity.tenant_id) as tx:
                check_speaker(tx, _live_staff(tx, conn.identity.subject_id), conn.identity.room_id)
            budget.checked_until = now + RECHECK_SECONDS
        if not audio and not data["end"]:
            return {"ok": True}
        try:
            at = append_chunk(redis_client(), conn.identity.tenant_id, conn.identity.room_id, audio, end=data["end"])
        except Exception:
            log.warning("live audio for room %s not appended: Redis unavailable", conn.identity.room_id)
            raise Unavailable(_("Live captions are briefly unavailable. Keep talking: they will resume.")) from None
    except DomainError as exc:
        budget.checked_until = 0.0
        return _refusal(exc, "staff")
    return {"ok": True, "at": at}

