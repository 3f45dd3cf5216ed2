"""The live caption worker: a long-running process (`townhall captions-live`), never a Celery task,
so a room's audio is decoded in order by one process while the live processes only append it.

Each loop: renew the lease of every room being captioned (services/captions/stream.py), read new
audio from those rooms' Redis streams (XREAD, blocking 200 ms), segment it by voice activity,
decode each phrase with the offline engine (every room's final lines first, then the newest
partial line of each), store final lines through the room event log, then checkpoint (the last stream entry wholly decoded and
the first sample not yet in a final line). A restarted worker reads again from the checkpoint: the
same phrases come out with the same ids, and the database refuses the copies. When a room is no
longer live its open phrase is finished and its lines become the recording's WebVTT.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import time
from collections import deque
from pathlib import Path

import numpy as np
import redis as redis_module

from services.captions import actions, stream
from services.captions.segments import Piece, Segmenter
from services.ops.redis_client import redis_client
from tenants.db import tenant_scope
from tenants.errors import DomainError
from workers.captions.engine import get_engine

log = logging.getLogger(__name__)

STATE_EVERY = 2.0        # seconds between reads of the rooms' states
BLOCK_MS = 200
BEHIND_CHUNKS = 4        # 250 ms chunks read at once above which partial lines are skipped


class Room:
    def __init__(self, tenant_id: str, room_id: str, entry: str, sample: int):
        self.tenant_id, self.room_id = tenant_id, room_id
        self.last_id = entry                  # read after this entry
        self.segmenter = Segmenter(sample)
        self.entries: deque = deque()         # (entry id, end sample) read, not yet wholly in final lines
        self.checkpoint_entry = entry
        self.behind = False


class LiveCaptioner:
    def __init__(self, app, name: str | None = None, engine=None):
        self.app = app
        self.name = name or os.environ.get("CAPTIONS_WORKER_NAME") or socket.gethostname()
        self.engine = engine or get_engine()
        self.rooms: dict[str, Room] = {}
        self.states_read_at = 0.0
        self.stopping = False
        self.media_dir = Path(app.config["TOWNHALL"].media_dir)

    # --- the loop ---------------------------------------------------------------------------
    def run_forever(self) -> None:
        with self.app.app_context():
            self.engine.transcribe(np.zeros(stream.SAMPLE_RATE, dtype=np.float32), stream.SAMPLE_RATE)  # load
            log.info("live caption worker %s ready", self.name)
            while not self.stopping:
                try:
                    self.step()
                except redis_module.RedisError as exc:
                    log.warning("live captions: Redis unavailable (%s); retrying", exc)
                    time.sleep(1)
                except DomainError as exc:
                    log.warning("live captions: %s; retrying", exc)
                    time.sleep(1)

    def step(self) -> None:
        client = redis_client()
        self._claim_rooms(client)
        now = time.monotonic()
        if now - self.states_read_at >= STATE_EVERY:
            self.states_read_at = now
            self._finish_closed_rooms(client)
        if not self.rooms:
            time.sleep(BLOCK_MS / 1000)
            return
        replies = client.xread({stream.stream_key(r.room_id): r.last_id for r in self.rooms.values()},
                               count=40, block=BLOCK_MS)
        work: list[tuple[Room, Piece]] = []
        for key, entries in replies or []:
            room = self.rooms.get(key.decode().rsplit(":", 1)[1])
            if room is not None:
                # more than a second of this room's audio waiting: the worker is behind, so it
                # skips partial lines (finals are never skipped) until it has caught up
                room.behind = len(entries) > BEHIND_CHUNKS
                for entry_id, fields in entries:
                    work += [(room, piece) for piece in self._take(room, entry_id.decode(), fields)]
        # every room's final lines first (in each room's order), then only the newest partial line of
        # each room that has no later final: one room's partial never delays another's final
        for room, piece in work:
            if piece.kind == "final":
                self._decode(client, room, piece)
        newest: dict[str, tuple[Room, Piece]] = {}
        for room, piece in work:
            if piece.kind == "final":
                newest.pop(room.room_id, None)
            elif not room.behind:
                newest[room.room_id] = (room, piece)
        for room, piece in newest.values():
            self._decode(client, room, piece)

    def _claim_rooms(self, client) -> None:
        active = stream.active_rooms(client)
        for room_id, tenant_id in active.items():
            if stream.take_lease(client, room_id, self.name):
                if room_id not in self.rooms:
                    entry, sample = stream.read_checkpoint(client, room_id)
                    self.rooms[room_id] = Room(tenant_id, room_id, entry, sample)
                    log.info("captioning room %s from sample %s", room_id, sample)
            else:
                self.rooms.pop(room_id, None)
        for room_id in [r for r in self.rooms if r not in active]:
            self.rooms.pop(room_id)

    # --- one chunk ------------------------------------------------------------------------------
    def _take(self, room: Room, entry_id: str, fields: dict) -> list[Piece]:
        at = int(fields[b"at"])
        pcm = fields.get(b"pcm", b"")
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        room.last_id = entry_id
        room.entries.append((entry_id, at + len(samples)))
        self._keep_audio(room, at, pcm)
        pieces = room.segmenter.feed(at, samples)
        if fields.get(b"end") == b"1":
            pieces += room.segmenter.flush()
        return pieces

    def _decode(self, client, room: Room, piece: Piece) -> None:
        if piece.kind == "partial" and room.behind:
            return
        text = " ".join(c.text for c in self.engine.transcribe(piece.samples, stream.SAMPLE_RATE))
        if piece.kind == "partial":
            actions.send_partial(room.room_id, piece.start, piece.end, text)
            return
        with tenant_scope(room.tenant_id) as tx:
            actions.record_final(tx, room.room_id, piece.start, piece.end, text, self.engine.name)
        self._checkpoint(client, room, piece.end)

    def _checkpoint(self, client, room: Room, done: int) -> None:
        """After a final line ending at sample `done` (the segmenter may already be further on)."""
        while room.entries and room.entries[0][1] <= done:
            room.checkpoint_entry = room.entries.popleft()[0]
        stream.write_checkpoint(client, room.room_id, room.checkpoint_entry, done)

    def _pcm_path(self, tenant_id: str, room_id: str) -> Path:
        return self.media_dir / tenant_id / f"live-{room_id}.pcm"

    def _keep_audio(self, room: Room, at: int, pcm: bytes) -> None:
        """The live audio, for the recording made when the chat closes: written at its own position,
        so audio read again after a restart lands where it was."""
        if not pcm:
            return
        path = self._pcm_path(room.tenant_id, room.room_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "r+b" if path.exists() else "wb") as out:
            out.seek(at * 2)
            out.write(pcm)

    # --- the end of a chat ----------------------------------------------------------------------
    def _finish_closed_rooms(self, client) -> None:
        for room in list(self.rooms.values()):
            with tenant_scope(room.tenant_id) as tx:
                state = tx.value("select state from rooms where id = %s", [room.room_id])
            if state == "live":
                continue
            for piece in room.segmenter.flush():
                self._decode(client, room, piece)
            pcm = self._pcm_path(room.tenant_id, room.room_id)
            with tenant_scope(room.tenant_id) as tx:
                media = actions.attach_live_recording(tx, room.room_id, self.media_dir, pcm, self.engine.name)
            stream.forget_room(client, room.room_id)
            pcm.unlink(missing_ok=True)
            self.rooms.pop(room.room_id, None)
            log.info("room %s is %s: live captions %s", room.room_id, state,
                     f"stored as recording {media['id']}" if media else "had no lines")


def run(app) -> None:
    """Started by name from `townhall captions-live` (services/commands.py)."""
    captioner = LiveCaptioner(app)

    def stop(*_):
        captioner.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    captioner.run_forever()
