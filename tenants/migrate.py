"""A small SQL migration runner.

Why not Alembic or yoyo: Alembic needs SQLAlchemy, which nothing else here uses, and our
migrations are plain SQL whose heart is row-level security; yoyo's URL layer does not take the
Unix-socket URLs the embedded PostgreSQL gives. This runner is psycopg-native and small:
files `NNNN_name.sql` in tenants/migrations (and each slice's `migrations/` folder) applied in
order, each in its own transaction, recorded in `schema_migrations`, serialised across
processes by an advisory lock. It also keeps the application role in shape: a login role that
owns nothing and has neither SUPERUSER nor BYPASSRLS.
"""
from __future__ import annotations

import logging
from pathlib import Path

import psycopg
from psycopg import sql


log = logging.getLogger(__name__)

APP_ROLE = "townhall_app"   # the run-time role: owns nothing, no BYPASSRLS
MIGRATION_DIRS = [Path(__file__).parent / "migrations"]
LOCK_KEY = 7_461_001  # any constant; shared by every process that migrates


def migration_files() -> list[Path]:
    files = [p for d in MIGRATION_DIRS for p in d.glob("[0-9][0-9][0-9][0-9]_*.sql")]
    return sorted(files, key=lambda p: p.name)


def ensure_app_role(conn: psycopg.Connection, password: str | None) -> None:
    exists = conn.execute("select 1 from pg_roles where rolname = %s", [APP_ROLE]).fetchone()
    if not exists:
        conn.execute(sql.SQL("create role {} login nosuperuser nobypassrls nocreatedb nocreaterole")
                     .format(sql.Identifier(APP_ROLE)))
    if password:
        conn.execute(sql.SQL("alter role {} password {}").format(sql.Identifier(APP_ROLE), sql.Literal(password)))
    dbname = conn.info.dbname
    conn.execute(sql.SQL("grant connect on database {} to {}").format(sql.Identifier(dbname), sql.Identifier(APP_ROLE)))
    conn.execute(sql.SQL("grant usage on schema public to {}").format(sql.Identifier(APP_ROLE)))


def migrate(owner_url: str, app_password: str | None = None) -> list[str]:
    """Apply pending migrations; returns the names applied. Safe to run concurrently."""
    applied_now: list[str] = []
    with psycopg.connect(owner_url, autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(%s)", [LOCK_KEY])
        try:
            ensure_app_role(conn, app_password)
            conn.execute("create table if not exists schema_migrations ("
                         " name text primary key, applied_at timestamptz not null default now())")
            done = {r[0] for r in conn.execute("select name from schema_migrations")}
            for path in migration_files():
                if path.name in done:
                    continue
                with conn.transaction():
                    conn.execute(path.read_text(encoding="utf-8"))
                    conn.execute("insert into schema_migrations (name) values (%s)", [path.name])
                log.info("applied migration %s", path.name)
                applied_now.append(path.name)
        finally:
            conn.execute("select pg_advisory_unlock(%s)", [LOCK_KEY])
    return applied_now
