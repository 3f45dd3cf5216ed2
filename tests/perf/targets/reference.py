"""The Node.js socket.io 4.8 reference server (tests/perf/reference/server.js)."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import time
from pathlib import Path

from tests.perf.loadgen import SioClient, SioProtocol
from tests.perf.targets import PERF_DIR, BaseTarget, TargetContext, node_binary

REFERENCE_DIR = PERF_DIR / "reference"
_run_ids = itertools.count(1)


def ensure_installed(reference_dir: Path = REFERENCE_DIR, timeout: float = 300.0) -> None:
    """``npm ci`` in tests/perf/reference when node_modules is missing."""
    if (reference_dir / "node_modules" / "socket.io" / "package.json").exists() and (
        reference_dir / "node_modules" / "@socket.io" / "redis-adapter" / "package.json"
    ).exists():
        return
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund"],
        cwd=str(reference_dir),
        check=True,
        timeout=timeout,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


class ReferencePublisher:
    """A socket.io client with ``auth: {publisher: true}`` emitting ``publish``."""

    def __init__(self, url: str) -> None:
        self.client = SioClient(url, auth={"publisher": True})

    async def connect(self) -> "ReferencePublisher":
        await self.client.connect()
        return self

    async def publish(self, room: str, seq: int) -> None:
        # Question text of varying length (40..440 characters) for mixed traffic.
        size = 40 + (seq * 37) % 400
        await self.client.emit("publish", {"room": room, "seq": seq, "sent_at": time.time(), "size": size})

    async def close(self) -> None:
        await self.client.close()


class ReferenceTarget(BaseTarget):
    name = "reference"

    def __init__(self, ctx: TargetContext) -> None:
        super().__init__(ctx)
        self.uses_redis = False

    def start(self, processes: int = 1, message_queue: bool | None = None) -> None:
        ensure_installed()
        if self.procs:
            raise RuntimeError("already started")
        use_redis = processes > 1 if message_queue is None else message_queue
        self.uses_redis = use_redis
        # Redis pub/sub channels are not per database: a key prefix of our own
        # keeps parallel runs (and anything else on the server) apart.
        key = f"townhall-perf-{os.getpid()}-{next(_run_ids)}"
        node = node_binary()
        try:
            for _ in range(processes):
                port = self.free_port(self.ctx.host)
                env = dict(os.environ, PORT=str(port), HOST=self.ctx.host, REDIS_KEY=key, PARENT_PID=str(os.getpid()))
                env.pop("REDIS_URL", None)
                if use_redis:
                    env["REDIS_URL"] = self.ctx.redis_url
                self.spawn([node, "server.js"], env=env, cwd=REFERENCE_DIR, label="reference")
                self.ports.append(port)
        except Exception:
            self.stop()
            raise

    def client_auth(self, room: str, i: int) -> dict:
        return {"room": room}

    def protocol(self) -> SioProtocol:
        return SioProtocol(event="room_event", seq_field="seq", sent_at_field="sent_at", room_field="data.room")

    async def publisher(self) -> ReferencePublisher:
        return await ReferencePublisher(self.urls()[0]).connect()

    def versions(self) -> dict[str, str]:
        out = {}
        try:
            out["node"] = subprocess.run(
                [node_binary(), "--version"], capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except Exception:  # noqa: BLE001
            pass
        for pkg in ("socket.io", "@socket.io/redis-adapter", "redis"):
            f = REFERENCE_DIR / "node_modules" / pkg / "package.json"
            if f.exists():
                out[pkg] = json.loads(f.read_text())["version"]
        return out


def make_target(ctx: TargetContext) -> ReferenceTarget:
    return ReferenceTarget(ctx)
