"""Prometheus metrics: `/metrics` on every HTTP process (web, live), and an access log line per request.

Counters and histograms are updated where things happen (HTTP hooks here, publish in
`live/event_log.py`, delivery and fan-out latency in the live process's Socket.IO manager below,
connections in `live/events.py`, Celery outcomes in `workers/celery_app.py`). Figures that live
in PostgreSQL or Redis (rooms live, moderation queues, Celery queue depth) are read on scrape.

Under gunicorn with several workers set PROMETHEUS_MULTIPROC_DIR (an empty, writable folder):
prometheus-client then keeps each worker's values in files there and a scrape sums them;
without it each process has its own registry. Labels are ids and route templates only: no
names, addresses, emails or free text.
"""
from __future__ import annotations

import logging
import os
import time
from datetime import datetime, timezone

from flask import Blueprint, Flask, Response, g, request
from prometheus_client import (CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, Histogram,
                               generate_latest, multiprocess)
from prometheus_client.core import GaugeMetricFamily

from services.ops import metrics_archive

log = logging.getLogger(__name__)
access_log = logging.getLogger("townhall.access")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

CONNECTED_RESIDENTS = Gauge("townhall_live_connected_residents",
                            "Members of the public (residents and viewers) connected to this live process",
                            ["tenant"], multiprocess_mode="livesum")
EVENTS_PUBLISHED = Counter("townhall_events_published", "Room and staff events emitted after commit",
                           ["stream"])
EVENTS_DELIVERED = Counter("townhall_events_delivered",
                           "Socket.IO packets handed to connected sockets (one per recipient)", ["event"])
FANOUT_LATENCY = Histogram("townhall_fanout_latency_seconds",
                           "From an event's commit-time `at` to this live process handing it to its sockets",
                           buckets=LATENCY_BUCKETS)
HTTP_LATENCY = Histogram("townhall_http_request_duration_seconds", "HTTP request duration by Flask route",
                         ["method", "route", "status"], buckets=LATENCY_BUCKETS)
ASSIST_GROUPING = Histogram("townhall_assist_grouping_seconds",
                            "Moderator assist on a question's arrival: embedding, comparison and storing",
                            buckets=LATENCY_BUCKETS)
CELERY_TASKS = Counter("townhall_celery_tasks", "Celery task outcomes", ["task", "outcome"])

bp = Blueprint("metrics", __name__)


class StoreCollector:
    """Read on scrape: rooms live, moderation queues per tenant, Celery queue depth.

    A failing source (PostgreSQL or Redis down) leaves its series out rather than failing the scrape."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self):
        from services.ops.redis_client import redis_client
        from tenants.db import unscoped

        with self.app.app_context():
            try:
                with unscoped() as tx:
                    rooms = tx.value("select townhall_live_room_count()")
                    queues = tx.all("select * from townhall_moderation_queues(%s)", [datetime.now(timezone.utc)])
                yield GaugeMetricFamily("townhall_rooms_live", "Rooms in the live state (all tenants)", value=rooms)
                length = GaugeMetricFamily("townhall_moderation_queue_length",
                                           "Pending questions in live rooms, per tenant", labels=["tenant"])
                age = GaugeMetricFamily("townhall_moderation_queue_oldest_seconds",
                                        "Age of the oldest pending question in a live room, per tenant",
                                        labels=["tenant"])
                for row in queues:
                    length.add_metric([str(row["tenant_id"])], row["pending"])
                    age.add_metric([str(row["tenant_id"])], row["oldest_seconds"])
                yield length
                yield age
            except Exception:
                log.warning("metrics: PostgreSQL figures unavailable", exc_info=True)
            try:
                pipe = redis_client().pipeline()
                celery_queues = self.app.config["TOWNHALL"].celery_queues
                for queue in celery_queues:
                    pipe.llen(queue)
                depth = GaugeMetricFamily("townhall_celery_queue_depth", "Messages waiting in each Celery queue",
                                          labels=["queue"])
                for queue, n in zip(celery_queues, pipe.execute()):
                    depth.add_metric([queue], n)
                yield depth
            except Exception:
                log.warning("metrics: Redis figures unavailable", exc_info=True)


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


@bp.get("/metrics")
def metrics():
    """For Prometheus scraping the pod directly. Anything that came through the ingress or a proxy
    (which always adds X-Forwarded-For) is told there is no such page: the chart's ingress sends
    every path to web, and tenant ids and queue lengths are not for the public."""
    from flask import abort, current_app

    if "X-Forwarded-For" in request.headers or "Forwarded" in request.headers:
        abort(404)
    processes = metrics_archive.collect_without_retired(lambda: generate_latest(_registry()))
    body = processes + generate_latest(current_app.extensions["townhall_store_metrics"])
    return Response(body, mimetype=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    store = CollectorRegistry(auto_describe=False)
    store.register(StoreCollector(app))
    app.extensions["townhall_store_metrics"] = store
    app.register_blueprint(bp)
    app.before_request(_start_timer)
    app.after_request(_observe)


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


def _observe(response):
    started = g.pop("metrics_started", None)
    if started is None:
        return response
    elapsed = time.perf_counter() - started
    route = request.url_rule.rule if request.url_rule else "<unmatched>"
    if route != "/metrics":
        HTTP_LATENCY.labels(request.method, route, str(response.status_code)).observe(elapsed)
    if route not in ("/healthz", "/readyz", "/metrics"):
        # The route template, never the path or query string (emailed-link tokens, search terms);
        # no address or user agent. request_id and tenant_id come from services.ops.logs.
        access_log.info("%s %s %s", request.method, route, response.status_code,
                        extra={"method": request.method, "route": route, "status": response.status_code,
                               "duration_ms": round(elapsed * 1000, 1)})
    return response


# --- the live process ---------------------------------------------------------------------------

def resident_connected(tenant_id) -> None:
    CONNECTED_RESIDENTS.labels(str(tenant_id)).inc()


def resident_disconnected(tenant_id) -> None:
    CONNECTED_RESIDENTS.labels(str(tenant_id)).dec()


def event_published(stream: str, count: int = 1) -> None:
    EVENTS_PUBLISHED.labels(stream).inc(count)


def assist_grouped(seconds: float) -> None:
    ASSIST_GROUPING.observe(seconds)


# --- processes without Flask's HTTP server (Celery workers) ------------------------------------

def serve_process_metrics(port: int, host: str = "0.0.0.0") -> None:
    """Serve /metrics from a background thread (the Celery worker's main process)."""
    from prometheus_client import start_http_server

    clear_multiproc_dir()
    start_http_server(port, addr=host, registry=_registry())


def clear_multiproc_dir() -> None:
    metrics_archive.clear_folder(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
