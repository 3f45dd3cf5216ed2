"""The PostgreSQL connection pool and the tenant-scoped transaction.

`tenant_scope(tenant_id)` is the only way application code reaches tenant rows: it opens a
transaction on a pooled connection and sets `app.tenant_id` with `set_config(..., true)`, which
PostgreSQL resets when the transaction ends, so a pooled connection never carries a tenant
into the next borrower. Row-level-security policies read that setting.

Side effects that must only happen once the rows are committed (Socket.IO emits, Celery
enqueues) are registered with `tx.after_commit(...)` and run after COMMIT, never on rollback.
Writes that are cheaper done once at the end (the room event log: one statement for every event
of the transaction) are registered with `tx.before_commit(...)` and run just before COMMIT.

When PostgreSQL is unreachable, callers get `Unavailable` (a 503 with Retry-After, or a Socket.IO
ack with a retry hint) quickly instead of queueing for the pool's full timeout, and the pool
reconnects by itself once the database answers again (see `Pool` and `borrow`).
"""
from __future__ import annotations

import logging
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from time import monotonic
from typing import Any, Callable, Iterator
from uuid import UUID

import psycopg
from flask import current_app
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from tenants.errors import Unavailable

log = logging.getLogger(__name__)


@dataclass
class Tx:
    """A transaction: the connection, the tenant it is scoped to, and its commit callbacks.

    `pending` holds what a slice gathers during the transaction for one write or emit at the end
    (keyed by the slice: see services/rooms/event_log.py and services/rooms/broadcast.py)."""

    conn: psycopg.Connection
    tenant_id: UUID | None
    pending: dict[str, Any] = field(default_factory=dict)
    _before_commit: list[Callable[[], Any]] = field(default_factory=list)
    _after_commit: list[Callable[[], Any]] = field(default_factory=list)

    def execute(self, query, params=None) -> psycopg.Cursor:
        return self.conn.execute(query, params)

    def one(self, query, params=None) -> dict | None:
        return self.conn.execute(query, params).fetchone()

    def all(self, query, params=None) -> list[dict]:
        return self.conn.execute(query, params).fetchall()

    def value(self, query, params=None):
        row = self.conn.execute(query, params).fetchone()
        return None if row is None else next(iter(row.values()))

    def before_commit(self, callback: Callable[[], Any]) -> None:
        self._before_commit.append(callback)

    def after_commit(self, callback: Callable[[], Any]) -> None:
        self._after_commit.append(callback)


POOL_TIMEOUT = 10.0     # a busy but healthy pool may make a request wait this long
FIRST_WAIT = 2.0        # ... but after this long we ask whether the database is down
DOWN_WAIT = 0.5         # while it is known to be down, answer "unavailable" at once
RECONNECT_TIMEOUT = 10  # psycopg_pool backs off 1, 2, 4 s...; giving up after 10 s resets the backoff,
                        # so a database that comes back is used again within a few seconds
RETRY_AFTER = 5


class Pool(ConnectionPool):
    """psycopg's pool, remembering whether the database refused the latest connection attempt."""

    failing_since: float | None = None

    def _connect(self, timeout: float | None = None):
        # psycopg_pool's one place that opens connections (background refills and growth)
        try:
            conn = super()._connect(timeout)
        except Exception:
            if self.failing_since is None:
                self.failing_since = monotonic()
            raise
        self.failing_since = None
        return conn

    @property
    def failing(self) -> bool:
        return self.failing_since is not None


CHECK_AFTER_IDLE = 2.0  # seconds


def check_if_idle(conn: psycopg.Connection) -> None:
    """The pool's check before lending a connection: one that came back less than CHECK_AFTER_IDLE
    ago was working then, so the round trip is skipped (a join storm borrows thousands of times a
    second); an older one is checked, which covers a PostgreSQL restart (it takes longer than that).
    A connection broken in between fails its statement and the caller gets `Unavailable`, as when the
    database goes away during a transaction."""
    if monotonic() - getattr(conn, "townhall_returned_at", float("-inf")) < CHECK_AFTER_IDLE:
        return
    ConnectionPool.check_connection(conn)


class Database:
    """Flask extension: one application-role pool per app, kept in `app.extensions`."""

    def init_app(self, app) -> ConnectionPool:
        cfg = app.config["TOWNHALL"]
        pool = Pool(
            cfg.app_database_url,
            min_size=1,
            max_size=cfg.db_pool_max,
            kwargs={"row_factory": dict_row, "connect_timeout": 5},
            timeout=POOL_TIMEOUT,
            reconnect_timeout=RECONNECT_TIMEOUT,
            open=False,
            name="townhall-app",
            check=check_if_idle,
        )
        pool.open(wait=False)
        app.extensions["townhall_db"] = pool
        return pool


db = Database()


def _pool() -> ConnectionPool:
    return current_app.extensions["townhall_db"]


def _getconn(pool: ConnectionPool) -> psycopg.Connection:
    failing = getattr(pool, "failing", False)
    try:
        return pool.getconn(timeout=DOWN_WAIT if failing else FIRST_WAIT)
    except PoolTimeout:
        if failing or getattr(pool, "failing", False):
            raise
    return pool.getconn(timeout=POOL_TIMEOUT - FIRST_WAIT)  # only busy: keep waiting our turn


@contextmanager
def borrow(pool: ConnectionPool) -> Iterator[psycopg.Connection]:
    """A pooled connection (committed or rolled back on exit, like `pool.connection()`); an
    unreachable database or a dropped connection becomes `Unavailable`."""
    try:
        conn = _getconn(pool)
        try:
            with conn:
                yield conn
        finally:
            conn.townhall_returned_at = monotonic()
            pool.putconn(conn)
    except (psycopg.OperationalError, PoolTimeout) as exc:
        log.warning("database unavailable: %s", exc.__class__.__name__)
        raise Unavailable("The service is briefly unavailable. Please try again in a few seconds.",
                          details={"retry_after": RETRY_AFTER}) from exc


def ping() -> bool:
    """True when PostgreSQL answers (for /readyz: fast, never raises)."""
    try:
        with borrow(_pool()) as conn:
            conn.execute("select 1")
        return True
    except (psycopg.Error, Unavailable):
        return False


@contextmanager
def _transaction(tenant_id: UUID | None, pipeline: bool = False) -> Iterator[Tx]:
    with borrow(_pool()) as conn:
        with conn.pipeline() if pipeline else nullcontext(), conn.transaction():
            if tenant_id is not None:
                conn.execute("select set_config('app.tenant_id', %s, true)", [str(tenant_id)])
            tx = Tx(conn, tenant_id)
            yield tx
            for callback in tx._before_commit:
                callback()
    for callback in tx._after_commit:
        callback()


def tenant_scope(tenant_id: UUID, *, pipeline: bool = False) -> "contextmanager[Tx]":
    """A transaction that sees and writes only `tenant_id`'s rows.

    With `pipeline=True` (psycopg's pipeline mode) BEGIN, the tenant setting and every statement
    up to the first fetch go to PostgreSQL together: a caller that sends all its statements before
    reading any result (the live join) pays one round trip for them, plus one for COMMIT."""
    if tenant_id is None:
        raise ValueError("tenant_scope needs a tenant id")
    return _transaction(tenant_id, pipeline)


def unscoped() -> "contextmanager[Tx]":
    """A transaction with no tenant set: tenant rows are invisible; for resolution functions."""
    return _transaction(None)
