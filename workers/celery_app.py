"""The worker side of the Celery app (services/ops/jobs.py): tasks run inside a Flask app context,
beat's schedule, and task metrics.

Tasks are idempotent and keyed on database state, acknowledged late and rejected back to the
queue if their worker dies, so a killed worker's task completes on another.
"""
from __future__ import annotations

import os
from datetime import datetime, timezone

from celery import Task, signals
from celery.schedules import crontab
from flask import Flask, has_app_context

from services.ops.jobs import celery_app, enqueue  # noqa: F401  (tasks import both from here)

# Beat only finds due work; the state lives in PostgreSQL.
BEAT_SCHEDULE = {
    "reminders-due": {"task": "townhall.reminders.dispatch_due", "schedule": 60.0},
    "mail-sweep": {"task": "townhall.mail.sweep", "schedule": 60.0},
    "transcripts-sweep": {"task": "townhall.transcripts.sweep", "schedule": 300.0},
    "captions-sweep": {"task": "townhall.captions.sweep", "schedule": 300.0},
    "retention-daily": {"task": "townhall.retention.purge", "schedule": crontab(hour=3, minute=30)},
    "usage-rollup": {"task": "townhall.billing.rollup", "schedule": 900.0},
    "invoices-daily": {"task": "townhall.billing.invoices", "schedule": crontab(hour=4, minute=0)},
    "closed-tenants-purge": {"task": "townhall.billing.purge", "schedule": crontab(hour=4, minute=30)},
    "escalation-webhooks-sweep": {"task": "townhall.escalations.sweep", "schedule": 60.0},
    "data-requests-reminders": {"task": "townhall.data_rights.remind_due", "schedule": crontab(hour=8, minute=0)},
}


class FlaskTask(Task):
    """Runs every task inside an app context. The worker's entry point (`townhall worker`) gives
    the app factory with `use_app_factory`; a task called where an app context is already open
    (a test, a CLI command) runs in that one."""

    _flask_app: Flask | None = None
    _app_factory = None

    def __call__(self, *args, **kwargs):
        if has_app_context():
            return self.run(*args, **kwargs)
        if FlaskTask._flask_app is None:
            if FlaskTask._app_factory is None:
                raise RuntimeError("no Flask app for Celery tasks: the worker's entry point must call "
                                   "workers.celery_app.use_app_factory(create_app)")
            FlaskTask._flask_app = FlaskTask._app_factory()
        with FlaskTask._flask_app.app_context():
            return self.run(*args, **kwargs)


def use_app_factory(factory) -> None:
    """The worker process's Flask app, made on the first task (after the pool forks)."""
    FlaskTask._app_factory = staticmethod(factory)


celery_app.conf.beat_schedule = BEAT_SCHEDULE


def moment(now: str | None) -> datetime:
    """A task's notion of now: given by the caller (tests, replays) or the clock."""
    return datetime.fromisoformat(now) if now else datetime.now(timezone.utc)


# --- metrics -------------------------------------------------------------------------------------
# Outcomes are counted where tasks run (the pool's child processes); the worker's main process
# serves them on METRICS_PORT. With the prefork pool set PROMETHEUS_MULTIPROC_DIR so the children's
# counts reach the main process (services/ops/metrics.py explains the mode).

@signals.task_success.connect
def _count_success(sender=None, **_):
    _count(sender, "success")


@signals.task_failure.connect
def _count_failure(sender=None, **_):
    _count(sender, "failure")


@signals.task_retry.connect
def _count_retry(sender=None, **_):
    _count(sender, "retry")


def _count(task, outcome: str) -> None:
    from services.ops.metrics import CELERY_TASKS

    CELERY_TASKS.labels(getattr(task, "name", "unknown"), outcome).inc()


@signals.worker_init.connect
def _serve_metrics(**_):
    port = os.environ.get("METRICS_PORT", "").strip()
    if port:
        from services.ops.metrics import serve_process_metrics

        serve_process_metrics(int(port))
