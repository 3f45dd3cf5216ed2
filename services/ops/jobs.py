"""The one seam through which the web, the live process and the domain start background work.

Work is enqueued by the task's registered name (`celery_app.send_task`), so nothing below the
workers imports a task module: the Celery tasks themselves live in `workers/` and register on this
same app in the worker process. Call `enqueue` after COMMIT (`tx.after_commit`), so a worker never
looks for rows that are not there yet.
"""
from __future__ import annotations

import logging

from celery import Celery
from celery.schedules import crontab
from kombu import Queue

from services.ops.config import load_config

# The jobs that code below the workers starts, by registered name (workers/ defines each task).
SEND_MAIL = "townhall.mail.send"
BUILD_TRANSCRIPT = "townhall.transcripts.build"
TRANSCRIBE_MEDIA = "townhall.captions.transcribe"
DELIVER_WEBHOOK = "townhall.webhooks.deliver"
DELIVER_ESCALATION = "townhall.escalations.webhook"
BUILD_EXPORT = "townhall.billing.export"
DISPATCH_REMINDERS = "townhall.reminders.dispatch_due"
SUGGEST_THEMES = "townhall.assist.suggest_themes"
TASK_MODULES = ["workers.mail", "workers.reminders", "workers.transcripts", "workers.captions.tasks",
                "workers.retention", "workers.webhooks", "workers.billing", "workers.escalations",
                "workers.data_rights", "workers.assist"]
# Beat only finds due work (the state lives in PostgreSQL), sending the sweeps by name.
BEAT_SCHEDULE = {
    "reminders-due": {"task": DISPATCH_REMINDERS, "schedule": 60.0},
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
_flask_app_factory = None


def _transport_options(visibility_timeout: int) -> dict:
    # A short visibility timeout (tests) needs frequent sweeps for unacknowledged messages,
    # so a killed worker's task is redelivered promptly; production keeps kombu's defaults.
    options = {"visibility_timeout": visibility_timeout}
    if visibility_timeout < 60:
        options.update(unacked_restore_interval=1, unacked_restore_throttle=1)
    return options


def make_celery() -> Celery:
    config = load_config()
    # task_cls and include are names, resolved only in a worker process (web never loads them).
    app = Celery("townhall", task_cls="workers.celery_app:FlaskTask", broker=config.redis_url or None,
                 include=TASK_MODULES)
    app.conf.update(
        task_queues=[Queue(name) for name in config.celery_queues],
        task_default_queue="default",
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        broker_transport_options=_transport_options(config.celery_visibility_timeout),
        broker_connection_retry_on_startup=True,
        timezone="UTC",
        task_routes={SEND_MAIL: {"queue": "mail"}, TRANSCRIBE_MEDIA: {"queue": config.captions_queue}},
        beat_schedule=BEAT_SCHEDULE,
        worker_hijack_root_logger=False,
    )
    return app


celery_app = make_celery()


def use_app_factory(factory) -> None:
    """The worker's entry point (`townhall worker`) names the Flask app factory its tasks run in;
    the app is made on the first task, after the pool forks (workers/celery_app.FlaskTask)."""
    global _flask_app_factory
    _flask_app_factory = factory


def make_flask_app():
    if _flask_app_factory is None:
        raise RuntimeError("no Flask app for Celery tasks: the worker's entry point must call "
                           "services.ops.jobs.use_app_factory(create_app)")
    return _flask_app_factory()


def init_app(flask_app) -> None:
    """Enqueue to the Flask app's Redis (tests build their config without touching os.environ)."""
    redis_url = flask_app.config["TOWNHALL"].redis_url
    if redis_url and celery_app.conf.broker_url != redis_url:
        celery_app.conf.broker_url = redis_url


def enqueue(task_name: str, *args, queue: str | None = None, countdown: int | None = None) -> bool:
    """Send a task by its registered name. If Redis is unreachable the work is still in PostgreSQL,
    where a beat sweep finds it, so a failure here is logged, not raised into the caller's request."""
    try:
        celery_app.send_task(task_name, args=args, queue=queue, countdown=countdown)
        return True
    except Exception as exc:
        logging.getLogger(__name__).warning("could not enqueue %s (%s); a sweep will find the work",
                                            task_name, exc.__class__.__name__)
        return False
