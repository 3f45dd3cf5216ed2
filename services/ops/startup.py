"""Start-up checks: a process refuses to start with one clear line instead of a traceback."""
from __future__ import annotations

import psycopg
import redis
from psycopg.conninfo import conninfo_to_dict

from services.ops.config import Config, ConfigError


def _where(url: str) -> str:
    params = conninfo_to_dict(url)
    host = params.get("host", "localhost")
    return f"{host}:{params.get('port', 5432)}/{params.get('dbname', '')}"


def check_database(config: Config) -> None:
    if not config.app_database_url:
        raise ConfigError("DATABASE_URL is not set: set it, or run `townhall dev` to use the embedded PostgreSQL")
    try:
        with psycopg.connect(config.app_database_url, connect_timeout=5) as conn:
            row = conn.execute("select rolsuper, rolbypassrls from pg_roles where rolname = current_user").fetchone()
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else exc.__class__.__name__
        raise ConfigError(f"cannot reach PostgreSQL at {_where(config.app_database_url)} ({reason}); "
                          "check APP_DATABASE_URL/DATABASE_URL and run `townhall migrate`") from None
    if row and (row[0] or row[1]):
        raise ConfigError("APP_DATABASE_URL connects as a superuser or BYPASSRLS role; row-level security "
                          "would not protect tenants. Use the townhall_app role created by `townhall migrate`")


def check_redis(config: Config) -> None:
    if not config.redis_url:
        raise ConfigError("REDIS_URL is not set: set it, or run `townhall dev` to use the embedded Redis")
    try:
        redis.Redis.from_url(config.redis_url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        raise ConfigError(f"cannot reach Redis at {config.redis_url.split('@')[-1]} ({exc}); check REDIS_URL") from None


def check_services(config: Config) -> None:
    check_database(config)
    check_redis(config)
