"""Real Celery workers and a real SMTP sink for tests: `townhall worker` and `townhall mail-sink`
as subprocesses with the test environment (tests/conftest.py `env`)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.servers import ROOT, free_port
from services.dev.mail_sink import SunkMessage, read_folder


def wait_until(predicate, timeout: float = 20.0, interval: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


@dataclass
class Proc:
    name: str
    proc: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the whole process group (the worker and its pool children)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def stop_all(procs: list[Proc]) -> None:
    """Warm shutdown of several workers at once (each waits for its running task)."""
    for p in procs:
        if p.proc.poll() is None:
            os.killpg(p.proc.pid, signal.SIGTERM)
    for p in procs:
        p.stop()


def _spawn(name: str, args: list[str], env: dict, log_dir: Path) -> Proc:
    log_path = log_dir / f"{name}-{time.time_ns()}.log"
    out = open(log_path, "wb")
    proc = subprocess.Popen([sys.executable, "-m", "services.cli", *args], cwd=ROOT, env=env, stdout=out,
                            stderr=subprocess.STDOUT, start_new_session=True)
    return Proc(name, proc, log_path)


def start_worker(env: dict, log_dir: Path, *, queues: str = "default,mail,media", concurrency: int = 1,
                 extra_env: dict | None = None, name: str = "worker") -> Proc:
    worker = _spawn(name, ["worker", "--queues", queues, "--concurrency", str(concurrency)],
                    {**env, "LOG_LEVEL": "INFO", **(extra_env or {})}, log_dir)
    wait_until(lambda: worker.proc.poll() is not None or " ready." in worker.log(), 60, 0.2, "the worker to start")
    if worker.proc.poll() is not None:
        raise RuntimeError(f"worker exited:\n{worker.log()}")
    return worker


@dataclass
class Sink:
    folder: Path
    port: int
    proc: Proc | None = None
    seen: set = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def messages(self, to: str | None = None) -> list[SunkMessage]:
        return [m for m in read_folder(self.folder) if to is None or to in m.to]

    def wait_for(self, to: str, count: int = 1, timeout: float = 20.0) -> list[SunkMessage]:
        return wait_until(lambda: len(self.messages(to)) >= count and self.messages(to), timeout,
                          message=f"{count} message(s) to {to}")


def start_sink(env: dict, log_dir: Path, folder: Path, port: int | None = None) -> Sink:
    port = port or free_port()
    proc = _spawn("mail-sink", ["mail-sink", "--port", str(port), "--dir", str(folder)], env, log_dir)
    sink = Sink(folder, port, proc)
    import socket

    def listening():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            return proc.proc.poll() is not None
    wait_until(listening, 20, 0.1, "the mail sink")
    if proc.proc.poll() is not None:
        raise RuntimeError(f"mail sink exited:\n{proc.log()}")
    return sink


def start_captions_worker(env: dict, log_dir: Path, *, name: str = "captions-live-1",
                          extra_env: dict | None = None, cpu: int | None = None) -> Proc:
    """`townhall captions-live` (workers/captions/live.py), once its model is loaded; with `cpu`, on
    that core only (set before the model starts its threads, so they all inherit it)."""
    worker = _spawn(name, ["captions-live"], {**env, "LOG_LEVEL": "INFO", "CAPTIONS_WORKER_NAME": name,
                                             **(extra_env or {})}, log_dir)
    if cpu is not None:
        os.sched_setaffinity(worker.proc.pid, {cpu})
    wait_until(lambda: worker.proc.poll() is not None or "live caption worker" in worker.log(), 60, 0.2,
               "the live caption worker to start")
    if worker.proc.poll() is not None:
        raise RuntimeError(f"live caption worker exited:\n{worker.log()}")
    return worker
