"""Configuration from environment variables (12-factor), validated once at start-up.

Every setting has a documented default (docs/contract.md). `load_config` raises
`ConfigError` with one line that says what to fix; the CLI prints that line and exits.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tenants.migrate import APP_ROLE

DEV_SECRET = "dev-only-secret-change-me"
ENVIRONMENTS = ("development", "test", "production")
# Celery queues: default and mail are fixed; captions (speech-to-text, CPU heavy) get a queue of
# their own so they can run on their own pods. CAPTIONS_QUEUE names it; the Helm chart uses the same default.
FIXED_QUEUES = ("default", "mail")
DEFAULT_CAPTIONS_QUEUE = "media"
_QUEUE_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?")  # the chart's rule: it names objects


class ConfigError(Exception):
    """A setting is missing or malformed; the message says what to fix."""


@dataclass(frozen=True)
class Config:
    env: str = "development"
    secret_key: str = DEV_SECRET
    database_url: str = ""
    app_database_url: str = ""
    redis_url: str = ""
    base_domain: str = "localhost"
    live_url: str = ""
    smtp_url: str = "smtp://localhost:8025"
    mail_from: str = "Townhall <no-reply@townhall.local>"
    log_format: str = "json"
    log_level: str = "INFO"
    data_dir: str = ".townhall-data"
    db_pool_max: int = 10
    socketio_channel: str = "townhall-socketio"
    proxy_hops: int = 0
    signup_email_suffixes: tuple[str, ...] = ("police.uk", "pcc.police.uk")
    public_url: str = ""
    smtp_starttls: str = "auto"
    smtp_timeout: float = 10.0
    smtp_tls_verify: bool = True
    mail_sink_dir: str = ""
    media_dir: str = ""
    media_max_bytes: int = 100 * 1024 * 1024
    celery_visibility_timeout: int = 3600
    vat_rate_bp: int = 2000          # VAT in basis points (VAT_RATE=20 or 17.5 percent)
    live_connections_per_ip: int = 500
    live_events_per_second: int = 10
    screening_model: str = "embedding-v2"
    captions_queue: str = DEFAULT_CAPTIONS_QUEUE
    extra: dict = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def celery_queues(self) -> tuple[str, ...]:
        return (*FIXED_QUEUES, self.captions_queue)

    def with_overrides(self, **changes) -> "Config":
        return replace(self, **changes)


def app_url_from_owner_url(owner_url: str, password: str | None = None) -> str:
    """The run-time URL: same server and database, the unprivileged application role."""
    params = conninfo_to_dict(owner_url)
    params["user"] = APP_ROLE
    params.pop("password", None)
    if password:
        params["password"] = password
    return make_conninfo(**params)


def _check_database_url(name: str, url: str) -> None:
    if not url:
        return
    try:
        conninfo_to_dict(url)
    except Exception as exc:  # psycopg raises ProgrammingError with a long text
        raise ConfigError(f"{name} is not a valid PostgreSQL URL ({exc.__class__.__name__}): "
                          f"use postgresql://user:password@host:5432/dbname") from None
    if "://" in url:
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres"):
            raise ConfigError(f"{name} must start with postgresql://")
        try:
            parts.port
        except ValueError:
            raise ConfigError(f"{name} has a port that is not a number") from None


def _check_redis_url(url: str) -> None:
    if url and urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError("REDIS_URL must start with redis://, rediss:// or unix://")


def _check_smtp(env: dict) -> None:
    url = env.get("SMTP_URL", "")
    if url and urlsplit(url).scheme not in ("smtp", "smtps"):
        raise ConfigError("SMTP_URL must start with smtp:// (STARTTLS per SMTP_STARTTLS) or smtps:// (TLS)")
    if env.get("SMTP_STARTTLS", "auto") not in ("auto", "true", "false"):
        raise ConfigError("SMTP_STARTTLS must be auto, true or false")


def _captions_queue(env: dict) -> str:
    name = env.get("CAPTIONS_QUEUE", DEFAULT_CAPTIONS_QUEUE)
    if not _QUEUE_NAME.fullmatch(name) or name in FIXED_QUEUES:
        raise ConfigError(f"CAPTIONS_QUEUE must be a lower-case queue name other than "
                          f"{' or '.join(FIXED_QUEUES)} (letters, digits and inner hyphens, up to 32), not {name!r}")
    return name


def load_config(environ: dict | None = None) -> Config:
    env = os.environ if environ is None else environ
    name = env.get("TOWNHALL_ENV", "development")
    if name not in ENVIRONMENTS:
        raise ConfigError(f"TOWNHALL_ENV must be one of {', '.join(ENVIRONMENTS)}, not {name!r}")
    secret = env.get("SECRET_KEY", "")
    if name == "production" and (not secret or secret == DEV_SECRET or len(secret) < 32):
        raise ConfigError("SECRET_KEY must be set to a random value of at least 32 characters in production")
    database_url = env.get("DATABASE_URL", "")
    app_database_url = env.get("APP_DATABASE_URL", "")
    _check_database_url("DATABASE_URL", database_url)
    _check_database_url("APP_DATABASE_URL", app_database_url)
    if database_url and not app_database_url:
        app_database_url = app_url_from_owner_url(database_url, env.get("DATABASE_APP_PASSWORD"))
    redis_url = env.get("REDIS_URL", "")
    _check_redis_url(redis_url)
    if name == "production" and not (app_database_url and redis_url):
        raise ConfigError("APP_DATABASE_URL (or DATABASE_URL) and REDIS_URL must be set in production")
    pool_max = _whole_number(env, "DB_POOL_MAX", 10, minimum=1)
    proxy_hops = _whole_number(env, "PROXY_HOPS", 0)
    _check_smtp(env)
    data_dir = env.get("TOWNHALL_DATA_DIR", ".townhall-data")
    live_connections_per_ip = _whole_number(env, "LIVE_CONNECTIONS_PER_IP", 500)
    live_events_per_second = max(1, _whole_number(env, "LIVE_EVENTS_PER_SECOND", 10))
    return Config(
        env=name,
        secret_key=secret or DEV_SECRET,
        database_url=database_url,
        app_database_url=app_database_url,
        redis_url=redis_url,
        base_domain=env.get("BASE_DOMAIN", "localhost").lower(),
        live_url=env.get("LIVE_URL", "").rstrip("/"),
        smtp_url=env.get("SMTP_URL", "smtp://localhost:8025"),
        mail_from=env.get("MAIL_FROM", "Townhall <no-reply@townhall.local>"),
        log_format=env.get("LOG_FORMAT", "text" if name == "development" else "json"),
        log_level=env.get("LOG_LEVEL", "INFO").upper(),
        data_dir=data_dir,
        db_pool_max=pool_max,
        socketio_channel=env.get("SOCKETIO_CHANNEL", "townhall-socketio"),
        proxy_hops=proxy_hops,
        signup_email_suffixes=_suffixes(env.get("SIGNUP_EMAIL_SUFFIXES", "police.uk,pcc.police.uk")),
        public_url=env.get("PUBLIC_URL", "").rstrip("/"),
        smtp_starttls=env.get("SMTP_STARTTLS", "auto"),
        smtp_timeout=float(_whole_number(env, "SMTP_TIMEOUT", 10, minimum=1)),
        smtp_tls_verify=env.get("SMTP_TLS_VERIFY", "true").lower() not in ("0", "false", "no"),
        mail_sink_dir=env.get("MAIL_SINK_DIR", os.path.join(data_dir, "mail")),
        # absolute: Flask's send_file reads a relative path from the package, not the working directory
        media_dir=os.path.abspath(env.get("MEDIA_DIR", os.path.join(data_dir, "media"))),
        media_max_bytes=_whole_number(env, "MEDIA_MAX_MB", 100, minimum=1) * 1024 * 1024,
        celery_visibility_timeout=_whole_number(env, "CELERY_VISIBILITY_TIMEOUT", 3600, minimum=1),
        vat_rate_bp=_vat_rate(env.get("VAT_RATE", "20")),
        live_connections_per_ip=live_connections_per_ip,
        live_events_per_second=live_events_per_second,
        screening_model=env.get("SCREENING_MODEL", "embedding-v2"),
        captions_queue=_captions_queue(env),
    )


def _vat_rate(value: str) -> int:
    """A percentage with at most two decimals, as whole basis points (no floats near money)."""
    from decimal import Decimal, InvalidOperation

    try:
        bp = Decimal(value.strip()) * 100
    except InvalidOperation:
        raise ConfigError("VAT_RATE must be a percentage such as 20 or 17.5") from None
    if bp != bp.to_integral_value() or not 0 <= bp <= 10000:
        raise ConfigError("VAT_RATE must be between 0 and 100 with at most two decimals")
    return int(bp)


def _whole_number(env, name: str, default: int, minimum: int = 0) -> int:
    try:
        value = int(env.get(name, str(default)))
    except ValueError:
        raise ConfigError(f"{name} must be a whole number") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}")
    return value


def _suffixes(value: str) -> tuple[str, ...]:
    suffixes = tuple(s.strip().lower().lstrip(".@") for s in value.split(",") if s.strip())
    if not suffixes:
        raise ConfigError("SIGNUP_EMAIL_SUFFIXES must list at least one domain suffix, e.g. police.uk,pcc.police.uk")
    return suffixes
