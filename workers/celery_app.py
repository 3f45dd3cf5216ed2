"""The Celery application: queues `default`, `mail`, `media`; tasks run inside a Flask app context.

Tasks are idempotent and keyed on database state, acknowledged late and rejected back to the
queue if their worker dies, so a killed worker's task completes on another.
"""
from __future__ import annotations

import logging
import os
from datetime import datetime, timezone

from celery import Celery, Task, signals
from celery.schedules import crontab
from kombu import Queue

from services.config import load_config

QUEUES = ("default", "mail", "media")
TASK_MODULES = ["workers.mail", "workers.reminders", "workers.transcripts", "workers.captions.tasks",
                "workers.retention", "workers.webhooks", "workers.billing", "workers.escalations",
                "workers.data_rights"]
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
    """Runs every task inside an app context of one lazily created Flask app per worker."""

    _flask_app = None

    def __call__(self, *args, **kwargs):
        if FlaskTask._flask_app is None:
            from services.app import create_app

            FlaskTask._flask_app = create_app(process="worker")
        with FlaskTask._flask_app.app_context():
            return self.run(*args, **kwargs)


def _transport_options(visibility_timeout: int) -> dict:
    # A short visibility timeout (tests) needs frequent sweeps for unacknowledged messages,
    # so a killed worker's task is redelivered promptly; production keeps kombu's defaults.
    options = {"visibility_timeout": visibility_timeout}
    if visibility_timeout < 60:
        options.update(unacked_restore_interval=1, unacked_restore_throttle=1)
    return options


def make_celery() -> Celery:
    config = load_config()
    app = Celery("townhall", task_cls=FlaskTask, broker=config.redis_url or None,
                 include=TASK_MODULES)
    app.conf.update(
        task_queues=[Queue(name) for name in QUEUES],
        task_default_queue="default",
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        broker_transport_options=_transport_options(config.celery_visibility_timeout),
        broker_connection_retry_on_startup=True,
        timezone="UTC",
        beat_schedule=BEAT_SCHEDULE,
        task_routes={"townhall.mail.send": {"queue": "mail"}, "townhall.captions.transcribe": {"queue": "media"}},
        worker_hijack_root_logger=False,
    )
    return app


celery_app = make_celery()


def init_app(flask_app) -> None:
    """Enqueue to the Flask app's Redis (tests build their config without touching os.environ)."""
    redis_url = flask_app.config["TOWNHALL"].redis_url
    if redis_url and celery_app.conf.broker_url != redis_url:
        celery_app.conf.broker_url = redis_url



def enqueue(task, *args, queue: str | None = None, countdown: int | None = None) -> bool:
    """Send a task after commit. If Redis is unreachable the work is still in PostgreSQL, where a
    beat sweep finds it, so a failure here is logged, not raised into the caller's request."""
    try:
        task.apply_async(args, queue=queue, countdown=countdown)
        return True
    except Exception as exc:
        logging.getLogger(__name__).warning("could not enqueue %s (%s); a sweep will find the work",
                                            task.name, exc.__class__.__name__)
        return False


def moment(now: str | None) -> datetime:
    """A task's notion of now: given by the caller (tests, replays) or the clock."""
    return datetime.fromisoformat(now) if now else datetime.now(timezone.utc)


# --- metrics -------------------------------------------------------------------------------------
# Outcomes are counted where tasks run (the pool's child processes); the worker's main process
# serves them on METRICS_PORT. With the prefork pool set PROMETHEUS_MULTIPROC_DIR so the children's
# counts reach the main process (services/metrics.py explains the mode).

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
    from services.metrics import CELERY_TASKS

    CELERY_TASKS.labels(getattr(task, "name", "unknown"), outcome).inc()


@signals.worker_init.connect
def _serve_metrics(**_):
    port = os.environ.get("METRICS_PORT", "").strip()
    if port:
        from services.metrics import serve_process_metrics

        serve_process_metrics(int(port))
