"""Benchmark targets: the servers the harness can measure.

A target is one module in this package, ``tests/perf/targets/<name>.py``,
exposing ``make_target(ctx: TargetContext) -> Target``.  ``--targets name``
on the harness command line imports it.  See tests/perf/README.md.
"""

from __future__ import annotations

import importlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from tests.perf.loadgen import SioProtocol

PERF_DIR = Path(__file__).resolve().parents[1]
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"


@dataclass
class TargetContext:
    """What the harness hands to ``make_target``."""

    redis_url: str = field(default_factory=lambda: os.environ.get("PERF_REDIS_URL", DEFAULT_REDIS_URL))
    log_dir: Path = field(default_factory=lambda: PERF_DIR / "results" / "logs")
    smoke: bool = False
    host: str = "127.0.0.1"  # servers listen on loopback only


@runtime_checkable
class Publisher(Protocol):
    """Causes broadcasts.  ``publish(room, seq)`` must make the server send
    exactly one ``room_event`` to every resident of ``room``, carrying
    ``seq`` where ``protocol().seq_field`` points.  Calls for one room are
    awaited one after another (the harness never overlaps them), calls for
    different rooms may overlap."""

    async def publish(self, room: str, seq: int) -> None: ...

    async def close(self) -> None: ...


@runtime_checkable
class Target(Protocol):
    name: str

    def start(self, processes: int = 1, message_queue: bool | None = None) -> None:
        """Start ``processes`` server processes and return once they accept
        connections.  ``message_queue`` None means "Redis only when
        processes > 1"; True forces the Redis message queue even for one."""

    def stop(self) -> None:
        """Stop every process started by ``start`` (SIGTERM, then SIGKILL)."""

    def server_pids(self) -> list[int]:
        """The pids whose CPU time and RSS are the server's cost."""

    def urls(self) -> list[str]:
        """Base URLs, one per process (``http://127.0.0.1:PORT``)."""

    def client_auth(self, room: str, i: int) -> dict | None:
        """The Socket.IO ``auth`` dict for resident ``i`` of ``room``."""

    def client_headers(self, room: str, i: int) -> dict | None:
        """Extra HTTP headers for the websocket upgrade (Origin, Cookie), or None."""

    def protocol(self) -> SioProtocol:
        """Namespace, path, event name and payload fields (see SioProtocol)."""

    def seq_offset(self, room: str) -> int:
        """What the server's seq for the harness's first publish minus one is
        (0 for a fresh room).  Residents subtract it from every received seq,
        for servers that number a room's events themselves."""

    def prepare(self, rooms: list[str]) -> None:
        """Called after ``start`` and before residents connect: create rooms,
        tenants, tokens.  Room names are the harness's (``bench-...``)."""

    async def publisher(self) -> Publisher:
        """A connected publisher (see Publisher)."""

    def versions(self) -> dict[str, str]:
        """Versions worth recording with the results."""


class BaseTarget:
    """Defaults and process handling shared by targets; subclass it."""

    name = "base"

    def __init__(self, ctx: TargetContext) -> None:
        self.ctx = ctx
        self.procs: list[subprocess.Popen] = []
        self.ports: list[int] = []
        self._logs: list[Any] = []

    # -- defaults ---------------------------------------------------------

    def client_auth(self, room: str, i: int) -> dict | None:
        return {"room": room}

    def client_headers(self, room: str, i: int) -> dict | None:
        return None

    def protocol(self) -> SioProtocol:
        return SioProtocol()

    def prepare(self, rooms: list[str]) -> None:
        return None

    def seq_offset(self, room: str) -> int:
        return 0

    def versions(self) -> dict[str, str]:
        return {}

    def urls(self) -> list[str]:
        return [f"http://{self.ctx.host}:{p}" for p in self.ports]

    def server_pids(self) -> list[int]:
        return [p.pid for p in self.procs if p.poll() is None]

    # -- helpers for subclasses -------------------------------------------

    @staticmethod
    def free_port(host: str = "127.0.0.1") -> int:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            return s.getsockname()[1]

    def spawn(
        self,
        argv: list[str],
        env: dict[str, str],
        cwd: Path,
        ready_text: str = "ready",
        port: int | None = None,
        timeout: float = 30.0,
        label: str | None = None,
    ) -> subprocess.Popen:
        """Start one server process logging to ``log_dir``; wait until its log
        shows ``ready_text`` (or, with ``ready_text`` None, until ``port``
        accepts a TCP connection)."""
        self.ctx.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.ctx.log_dir / f"{label or self.name}-{len(self.procs)}-{int(time.time())}.log"
        log = open(log_path, "wb")
        self._logs.append(log)
        proc = subprocess.Popen(
            argv, cwd=str(cwd), env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        self.procs.append(proc)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{argv[0]} exited with {proc.returncode}; see {log_path}")
            if ready_text is not None:
                if ready_text.encode() in log_path.read_bytes():
                    return proc
            elif port is not None:
                try:
                    with socket.create_connection((self.ctx.host, port), timeout=0.5):
                        return proc
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError(f"{argv[0]} not ready after {timeout}s; see {log_path}")

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        self.procs.clear()
        self.ports.clear()
        for log in self._logs:
            log.close()
        self._logs.clear()


def node_binary() -> str:
    node = shutil.which("node")
    if not node:
        raise RuntimeError("node is not on PATH (Node.js 20 is needed for the reference server)")
    return node


def load_target(name: str, ctx: TargetContext) -> Target:
    """Import tests.perf.targets.<name> and call its make_target(ctx)."""
    if not name.isidentifier():
        raise ValueError(f"bad target name {name!r}")
    module = importlib.import_module(f"tests.perf.targets.{name}")
    target = module.make_target(ctx)
    missing = [m for m in ("start", "stop", "server_pids", "urls", "client_auth", "publisher") if not hasattr(target, m)]
    if missing:
        raise TypeError(f"target {name!r} lacks {', '.join(missing)}")
    return target
