"""Real server processes for tests: `townhall live` / `townhall web` on free loopback ports."""
from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, sig=signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_server(kind: str, env: dict, log_dir: Path, port: int | None = None, extra_env: dict | None = None) -> Server:
    port = port or free_port()
    log_path = log_dir / f"{kind}-{port}.log"
    out = open(log_path, "wb")
    proc = subprocess.Popen([sys.executable, "-m", "services.cli", kind, "--port", str(port)], cwd=ROOT,
                            env={**env, **(extra_env or {})}, stdout=out, stderr=subprocess.STDOUT)
    server = Server(kind, port, proc, log_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{kind} server exited:\n{server.log()}")
        try:
            if requests.get(f"{server.url}/healthz", timeout=0.5).ok:
                return server
        except requests.RequestException:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{kind} server did not start:\n{server.log()}")
