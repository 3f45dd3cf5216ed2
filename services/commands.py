"""Subcommands of `townhall` (see docs/contract.md)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from psycopg.conninfo import conninfo_to_dict

from services.ops.config import ConfigError, load_config


@click.group()
def cli() -> None:
    """Townhall: live webchats for police forces and OPCCs."""


@cli.command()
@click.option("--web-port", default=5000, show_default=True)
@click.option("--live-port", default=5001, show_default=True)
@click.option("--no-seed", is_flag=True, help="Do not create the demo tenant.")
def dev(web_port: int, live_port: int, no_seed: bool) -> None:
    """Run the whole platform on this machine (embedded PostgreSQL and Redis if no URLs are set)."""
    from services.dev.devstack import run_dev_stack

    sys.exit(run_dev_stack(web_port=web_port, live_port=live_port, seed=not no_seed))


@cli.command()
@click.option("--port", type=int, default=lambda: int(os.environ.get("PORT", 5000)), show_default="5000")
@click.option("--host", default=lambda: os.environ.get("HOST", "127.0.0.1"), show_default="HOST or 127.0.0.1")
def web(port: int, host: str) -> None:
    """HTTP pages and the API, under gunicorn."""
    from services.ops.startup import check_services
    from services.screening import engine as screening_engine

    config = load_config()
    check_services(config)
    screening_engine.use(config.screening_model)   # before gunicorn, so a bad model is one line, not a traceback
    conf = Path(__file__).resolve().parent.parent / "deploy" / "gunicorn.conf.py"
    args = ["gunicorn", "--bind", f"{host}:{port}", "services.wsgi:app"]
    if conf.exists():
        args[1:1] = ["--config", str(conf)]
    os.execvp(sys.executable, [sys.executable, "-m", *args])


@cli.command()
@click.option("--port", type=int, default=lambda: int(os.environ.get("PORT", 5001)), show_default="5001")
@click.option("--host", default=lambda: os.environ.get("HOST", "127.0.0.1"), show_default="HOST or 127.0.0.1")
def live(port: int, host: str) -> None:
    """The Socket.IO server (gevent; the standard library is already patched by main)."""
    from services.app import create_app
    from services.ops.startup import check_services
    from services.web.live.server import serve

    config = load_config()
    check_services(config)
    serve(create_app(config, process="live"), host, port)


@cli.command()
@click.option("--queues", default=None, help="Comma-separated queues  [default: all: default,mail,CAPTIONS_QUEUE]")
@click.option("--concurrency", default=2, show_default=True)
def worker(queues: str, concurrency: int) -> None:
    """A Celery worker."""
    from services.app import create_app
    from services.ops.startup import check_services
    from services.ops.jobs import celery_app, use_app_factory

    config = load_config()
    check_services(config)
    use_app_factory(lambda: create_app(process="worker"))
    celery_app.worker_main(["worker", "--queues", queues or ",".join(config.celery_queues), "--concurrency", str(concurrency),
                            "--loglevel", "INFO", "--without-gossip", "--without-mingle"])


@cli.command("captions-live")
def captions_live() -> None:
    """The live caption worker: transcribes hosts' microphones in live rooms (docs/captions.md)."""
    import importlib
    import logging

    from services.app import create_app
    from services.ops.startup import check_services

    config = load_config()
    check_services(config)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"))
    importlib.import_module("workers.captions.live").run(create_app(config, process="worker"))


@cli.command()
def beat() -> None:
    """Celery beat: finds due work (exactly one per deployment)."""
    from services.ops.jobs import celery_app

    celery_app.start(["beat", "--loglevel", "INFO", "--schedule",
                      os.path.join(load_config().data_dir, "celerybeat-schedule")])


@cli.command("mail-sink")
@click.option("--port", type=int, default=None, help="Default: the port of SMTP_URL (8025).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--dir", "folder", default=None, help="Default: MAIL_SINK_DIR (.townhall-data/mail).")
def mail_sink(port: int | None, host: str, folder: str | None) -> None:
    """A local SMTP server that keeps every message as a file (development and tests)."""
    import signal
    import threading
    from urllib.parse import urlsplit

    from services.dev.mail_sink import start_sink

    config = load_config()
    port = port or urlsplit(config.smtp_url).port or 8025
    folder = folder or config.mail_sink_dir
    controller = start_sink(folder, host, port)
    click.echo(f"mail sink on smtp://{host}:{port}/ keeping messages in {folder}", err=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


@cli.command()
def migrate() -> None:
    """Apply database migrations as the owner role (DATABASE_URL)."""
    from tenants.migrate import migrate as run

    config = load_config()
    if not config.database_url:
        raise ConfigError("DATABASE_URL (the owner role's URL) must be set to migrate")
    password = os.environ.get("DATABASE_APP_PASSWORD") or conninfo_to_dict(config.app_database_url).get("password")
    applied = run(config.database_url, password)
    click.echo(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else ""))


@cli.command("seed-demo")
def seed_demo() -> None:
    """Create the demo tenant, room and staff (idempotent)."""
    from services.app import create_app
    from services.dev.demo import seed

    with create_app(load_config(), process="cli").app_context():
        for line in seed():
            click.echo(line)


def _in_app(fn):
    from services.app import create_app

    with create_app(load_config(), process="cli").app_context():
        return fn()


@cli.command("approve-tenant")
@click.argument("slug")
@click.option("--plan", required=True, help="The plan's name (trial, standard, large, or any row of the plans table).")
def approve_tenant(slug: str, plan: str) -> None:
    """Approve a verified (trial) tenant: it becomes active on PLAN."""
    from tenants.errors import DomainError
    from tenants.provisioning import approve_tenant as approve

    try:
        tenant = _in_app(lambda: approve(slug, plan, by=f"cli:{os.environ.get('USER', 'operator')}"))
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"{tenant.slug} is now {tenant.state} on plan {plan}")


@cli.command("grant-signup-override")
@click.argument("email")
def grant_signup_override(email: str) -> None:
    """Allow EMAIL to sign up although its domain is not in SIGNUP_EMAIL_SUFFIXES."""
    from tenants.errors import DomainError
    from tenants.provisioning import grant_signup_override as grant

    try:
        _in_app(lambda: grant(email, by=f"cli:{os.environ.get('USER', 'operator')}"))
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"{email.strip().lower()} may now sign up")


@cli.command("create-platform-admin")
@click.argument("email")
@click.option("--name", default="", help="Display name.")
def create_platform_admin(email: str, name: str) -> None:
    """Create a platform admin with a one-time password; TOTP is set up at the first sign-in."""
    from tenants.errors import DomainError
    from tenants.platform_auth import create_admin

    try:
        admin, password = _in_app(lambda: create_admin(email, display_name=name))
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"platform admin {admin.email} created. One-time password (shown once): {password}")
    click.echo("Sign in at /platform/ on the platform host; you will set up two-step verification first.")
