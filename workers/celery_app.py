"""The Celery application: queues `default`, `mail`, `media`; tasks run inside a Flask app context.

Tasks are idempotent and keyed on database state, acknowledged late and rejected back to the
queue if their worker dies, so a killed worker's task completes on another.
"""
from __future__ import annotations

from celery import Celery, Task
from kombu import Queue

from services.config import load_config

QUEUES = ("default", "mail", "media")


class FlaskTask(Task):
    """Runs every task inside an app context of one lazily created Flask app per worker."""

    _flask_app = None

    def __call__(self, *args, **kwargs):
        if FlaskTask._flask_app is None:
            from services.app import create_app

            FlaskTask._flask_app = create_app(process="worker")
        with FlaskTask._flask_app.app_context():
            return self.run(*args, **kwargs)


def make_celery() -> Celery:
    config = load_config()
    app = Celery("townhall", task_cls=FlaskTask, broker=config.redis_url or None,
                 include=["workers.webhooks"])
    app.conf.update(
        task_queues=[Queue(name) for name in QUEUES],
        task_default_queue="default",
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        broker_transport_options={"visibility_timeout": 3600},
        broker_connection_retry_on_startup=True,
        timezone="UTC",
        beat_schedule={},
        worker_hijack_root_logger=False,
    )
    return app


celery_app = make_celery()
