"""`townhall dev`: embedded servers when no URLs are set, migrate, seed, then web + live +
worker + beat + the live caption worker as child processes with interleaved, prefixed logs. Ctrl-C stops them all."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

from services.ops.config import load_config
from services.ops.startup import check_services

COLOURS = {"web": "\033[36m", "live": "\033[35m", "worker": "\033[33m", "beat": "\033[32m", "mail": "\033[34m",
           "captions": "\033[31m"}
RESET = "\033[0m"


def _pump(name: str, stream) -> None:
    colour = COLOURS.get(name, "") if sys.stdout.isatty() else ""
    end = RESET if colour else ""
    for line in iter(stream.readline, b""):
        sys.stdout.write(f"{colour}{name:>6} |{end} {line.decode(errors='replace')}")
        sys.stdout.flush()


def _spawn(name: str, args: list[str], env: dict) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "services.cli", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    threading.Thread(target=_pump, args=(name, proc.stdout), daemon=True).start()
    return proc


def _stop_all(procs: dict[str, subprocess.Popen]) -> None:
    for proc in procs.values():
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    for proc in procs.values():
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def run_dev_stack(*, web_port: int, live_port: int, seed: bool) -> int:
    env = dict(os.environ)
    config = load_config(env)
    stack = None
    if not config.database_url or not config.redis_url:
        from deploy.embedded import start_embedded

        print(f"townhall: starting embedded PostgreSQL and Redis under {config.data_dir}/", flush=True)
        stack = start_embedded(config.data_dir)
        env.setdefault("DATABASE_URL", stack.database_url)
        env.setdefault("REDIS_URL", stack.redis_url)
    env.setdefault("LIVE_URL", f"http://localhost:{live_port}")
    env.setdefault("PUBLIC_URL", f"http://localhost:{web_port}")
    procs: dict[str, subprocess.Popen] = {}
    stopping = threading.Event()

    def on_signal(signum, frame):
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        for step in (["migrate"], ["seed-demo"] if seed else None):
            if step and subprocess.run([sys.executable, "-m", "services.cli", *step], env=env).returncode != 0:
                print(f"townhall: `townhall {step[0]}` failed (see above); stopping", flush=True)
                return 1
        check_services(load_config(env))
        procs["web"] = _spawn("web", ["web", "--port", str(web_port)], env)
        procs["live"] = _spawn("live", ["live", "--port", str(live_port)], env)
        procs["worker"] = _spawn("worker", ["worker", "--concurrency", "1"], env)
        procs["beat"] = _spawn("beat", ["beat"], env)
        procs["captions"] = _spawn("captions", ["captions-live"], env)   # live captions (docs/captions.md)
        if "SMTP_URL" not in os.environ:  # the default SMTP_URL points at the local sink
            procs["mail"] = _spawn("mail", ["mail-sink"], env)
        print(f"townhall: web on http://localhost:{web_port}/  live on http://localhost:{live_port}/  "
              f"mail at http://localhost:{web_port}/dev/mail/ (Ctrl-C stops everything)", flush=True)
        while not stopping.wait(0.5):
            dead = [n for n, p in procs.items() if p.poll() is not None]
            if dead:
                print(f"townhall: {', '.join(dead)} stopped; shutting down", flush=True)
                return 1
        return 0
    finally:
        _stop_all(procs)
        if stack:
            stack.stop()
        print("townhall: stopped", flush=True)
