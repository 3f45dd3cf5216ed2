"""The PostgreSQL connection pool and the tenant-scoped transaction.

`tenant_scope(tenant_id)` is the only way application code reaches tenant rows: it opens a
transaction on a pooled connection and sets `app.tenant_id` with `set_config(..., true)`, which
PostgreSQL resets when the transaction ends, so a pooled connection never carries a tenant
into the next borrower. Row-level-security policies read that setting.

Side effects that must only happen once the rows are committed (Socket.IO emits, Celery
enqueues) are registered with `tx.after_commit(...)` and run after COMMIT, never on rollback.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
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
    """A transaction: the connection, the tenant it is scoped to, and post-commit callbacks."""

    conn: psycopg.Connection
    tenant_id: UUID | None
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

    def after_commit(self, callback: Callable[[], Any]) -> None:
        self._after_commit.append(callback)


class Database:
    """Flask extension: one application-role pool per app, kept in `app.extensions`."""

    def init_app(self, app) -> ConnectionPool:
        cfg = app.config["TOWNHALL"]
        pool = ConnectionPool(
            cfg.app_database_url,
            min_size=1,
            max_size=cfg.db_pool_max,
            kwargs={"row_factory": dict_row, "connect_timeout": 5},
            timeout=10,
            open=False,
            name="townhall-app",
            check=ConnectionPool.check_connection,
        )
        pool.open(wait=False)
        app.extensions["townhall_db"] = pool
        return pool


db = Database()


def _pool() -> ConnectionPool:
    return current_app.extensions["townhall_db"]


def ping(timeout: float = 2.0) -> bool:
    """True when PostgreSQL answers within `timeout` (for /readyz: fast, never raises)."""
    try:
        with _pool().connection(timeout=timeout) as conn:
            conn.execute("select 1")
        return True
    except (psycopg.Error, PoolTimeout):
        return False


@contextmanager
def _transaction(tenant_id: UUID | None) -> Iterator[Tx]:
    try:
        with _pool().connection() as conn:
            with conn.transaction():
                if tenant_id is not None:
                    conn.execute("select set_config('app.tenant_id', %s, true)", [str(tenant_id)])
                tx = Tx(conn, tenant_id)
                yield tx
    except (psycopg.OperationalError, PoolTimeout) as exc:
        log.warning("database unavailable: %s", exc.__class__.__name__)
        raise Unavailable("The service is briefly unavailable. Please try again in a few seconds.",
                          details={"retry_after": 5}) from exc
    for callback in tx._after_commit:
        callback()


def tenant_scope(tenant_id: UUID) -> "contextmanager[Tx]":
    """A transaction that sees and writes only `tenant_id`'s rows."""
    if tenant_id is None:
        raise ValueError("tenant_scope needs a tenant id")
    return _transaction(tenant_id)


def unscoped() -> "contextmanager[Tx]":
    """A transaction with no tenant set: tenant rows are invisible; for resolution functions."""
    return _transaction(None)
