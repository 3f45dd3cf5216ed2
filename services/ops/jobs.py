"""The one seam through which the web, the live process and the domain start background work.

Work is enqueued by the task's registered name (`celery_app.send_task`), so nothing below the
workers imports a task module: the Celery tasks themselves live in `workers/` and register on this
same app in the worker process. Call `enqueue` after COMMIT (`tx.after_commit`), so a worker never
looks for rows that are not there yet.
"""
from __future__ import annotations

import logging

from celery import Celery
from kombu import Queue

from services.ops.config import load_config

QUEUES = ("default", "mail", "media")
# The jobs that code below the workers starts, by registered name (workers/ defines each task).
SEND_MAIL = "townhall.mail.send"
BUILD_TRANSCRIPT = "townhall.transcripts.build"
TRANSCRIBE_MEDIA = "townhall.captions.transcribe"
DELIVER_WEBHOOK = "townhall.webhooks.deliver"
DELIVER_ESCALATION = "townhall.escalations.webhook"
BUILD_EXPORT = "townhall.billing.export"
DISPATCH_REMINDERS = "townhall.reminders.dispatch_due"
TASK_MODULES = ["workers.mail", "workers.reminders", "workers.transcripts", "workers.captions.tasks",
                "workers.retention", "workers.webhooks", "workers.billing", "workers.escalations",
                "workers.data_rights"]
ROUTES = {SEND_MAIL: {"queue": "mail"}, TRANSCRIBE_MEDIA: {"queue": "media"}}


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
        task_queues=[Queue(name) for name in QUEUES],
        task_default_queue="default",
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        broker_transport_options=_transport_options(config.celery_visibility_timeout),
        broker_connection_retry_on_startup=True,
        timezone="UTC",
        task_routes=ROUTES,
        worker_hijack_root_logger=False,
    )
    return app


celery_app = make_celery()


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
