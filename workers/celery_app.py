"""The worker side of the Celery app (services/ops/jobs.py): tasks run inside a Flask app context,
and task metrics.

Tasks are idempotent and keyed on database state, acknowledged late and rejected back to the
queue if their worker dies, so a killed worker's task completes on another.
"""
from __future__ import annotations

import os
from datetime import datetime, timezone

from celery import Task, signals
from flask import Flask, has_app_context

from services.ops.jobs import celery_app, enqueue  # noqa: F401  (tasks import both from here)
from services.ops.jobs import make_flask_app


class FlaskTask(Task):
    """Runs every task inside an app context: the worker's own app (`jobs.use_app_factory`, set by
    `townhall worker`), or the one already open where a task is called directly (a test, a CLI
    command)."""

    _flask_app: Flask | None = None

    def __call__(self, *args, **kwargs):
        if has_app_context():
            return self.run(*args, **kwargs)
        if FlaskTask._flask_app is None:
            FlaskTask._flask_app = make_flask_app()
        with FlaskTask._flask_app.app_context():
            return self.run(*args, **kwargs)


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


@signals.worker_process_shutdown.connect
def _retire_metrics(**_):
    """A pool child that exits (--max-tasks-per-child, a scale-down) folds its files into the archives."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        from services.ops.metrics_archive import retire_process

        retire_process(os.getpid(), folder)


@signals.worker_init.connect
def _serve_metrics(**_):
    port = os.environ.get("METRICS_PORT", "").strip()
    if port:
        from services.ops.metrics import serve_process_metrics

        serve_process_metrics(int(port))
