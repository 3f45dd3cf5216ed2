"""/metrics after a small real session: live processes, a gunicorn web process (two workers in
multiprocess mode) and a Celery worker, all real; and the access log carries no personal data."""
from __future__ import annotations

import json
import re

import pytest
import requests

from tests.support.prom import scrape, total, value
from tests.support.servers import free_port, start_server
from tests.support.workers import start_worker, wait_until
from workers.celery_app import celery_app


@pytest.fixture(scope="module")
def web_server(env, tmp_path_factory):
    logs = tmp_path_factory.mktemp("web-logs")
    multiproc = tmp_path_factory.mktemp("web-prom")
    server = start_server("web", env, logs, extra_env={"LOG_FORMAT": "json", "LOG_LEVEL": "INFO",
                                                       "WEB_CONCURRENCY": "2", "PROMETHEUS_MULTIPROC_DIR": str(multiproc)})
    yield server
    server.stop()


def test_metrics_after_a_small_session(app_ctx, make_world, live_pair, clients, web_server, env, tmp_path):
    p1, p2 = live_pair
    world = make_world()
    tenant = str(world.tenant.id)
    before = scrape(p1.url)
    alice, bob = world.join("Alice"), world.join("Bob")
    r1 = clients(p1.url, world.resident_token(alice), last_seq=world.room["last_seq"])
    r2 = clients(p1.url, world.resident_token(bob), last_seq=world.room["last_seq"])
    moderator = clients(p2.url, world.staff_token(world.moderator), staff_last_seq=0)

    asked = r1.call("ask", {"body": "Will the precept rise next year?"})
    assert moderator.call("approve", {"question_id": asked["id"]})["ok"] is True
    for resident in (r1, r2):
        resident.wait_for(lambda r=resident: r.events_of("question.published"))
    assert r2.call("ask", {"body": "Still waiting for a moderator"})["ok"] is True

    live = scrape(p1.url)
    assert value(live, "townhall_live_connected_residents", tenant=tenant) == 2  # staff not counted
    # question.published reached two sockets on p1 (and my_question/private went to one each)
    delivered = total(live, "townhall_events_delivered_total", event="room_event")
    assert delivered - total(before, "townhall_events_delivered_total", event="room_event") >= 2
    fanout = total(live, "townhall_fanout_latency_seconds_count") - total(before, "townhall_fanout_latency_seconds_count")
    assert fanout >= 1  # one observation per emit handed to this process's sockets
    assert 0 < total(live, "townhall_fanout_latency_seconds_sum") < 60 * total(live, "townhall_fanout_latency_seconds_count")
    assert value(live, "townhall_rooms_live") >= 1
    assert value(live, "townhall_moderation_queue_length", tenant=tenant) == 1
    assert 0 <= value(live, "townhall_moderation_queue_oldest_seconds", tenant=tenant) < 60
    # the approval ran on p2: it published a room event and a staff event after commit
    other = scrape(p2.url)
    assert total(other, "townhall_events_published_total", stream="room") >= 1
    assert total(other, "townhall_events_published_total", stream="staff") >= 1
    assert total(other, "townhall_events_delivered_total", event="staff_event") >= 1
    # no resident-identifying labels anywhere: only ids of tenants
    scraped = requests.get(f"{p1.url}/metrics", timeout=5).text
    for personal in ("Alice", "Bob", "precept", str(alice["id"]), "203.0.113.7"):
        assert personal not in scraped

    # web: HTTP latency by route template, summed over both gunicorn workers
    page = f"{web_server.url}/t/{world.tenant.slug}/rooms/{world.room['id']}"
    for _ in range(4):
        assert requests.get(page, timeout=10, headers={"X-Forwarded-For": "198.51.100.23"}).status_code == 200
    web = scrape(web_server.url)
    through_ingress = requests.get(f"{web_server.url}/metrics", timeout=5, headers={"X-Forwarded-For": "198.51.100.23"})
    assert through_ingress.status_code == 404 and "townhall_" not in through_ingress.text   # scraped only directly
    route = "/t/<tenant>/rooms/<room_id>"
    assert total(web, "townhall_http_request_duration_seconds_count", route=route, method="GET", status="200") >= 4
    assert value(web, "townhall_rooms_live") >= 1
    for queue in ("default", "mail", "media"):
        assert value(web, "townhall_celery_queue_depth", queue=queue) is not None

    # Celery: outcomes from a real worker (prefork children, multiprocess mode), queue depth from Redis
    celery_app.send_task("townhall.mail.sweep", queue="mail")  # no worker on `mail` yet
    assert value(scrape(web_server.url), "townhall_celery_queue_depth", queue="mail") >= 1
    port = free_port()
    prom = tmp_path / "worker-prom"
    prom.mkdir()
    worker = start_worker(env, tmp_path, queues="default", extra_env={"METRICS_PORT": str(port),
                                                                      "PROMETHEUS_MULTIPROC_DIR": str(prom)})
    try:
        celery_app.send_task("townhall.retention.purge", queue="default")
        celery_app.send_task("townhall.mail.sweep", args=["not a time"], queue="default")
        worker_url = f"http://127.0.0.1:{port}"

        def outcomes():
            samples = scrape(worker_url)
            ok = value(samples, "townhall_celery_tasks_total", task="townhall.retention.purge", outcome="success")
            failed = value(samples, "townhall_celery_tasks_total", task="townhall.mail.sweep", outcome="failure")
            return ok == 1 and failed == 1
        wait_until(outcomes, 30, 0.3, "task outcomes on the worker's /metrics")
    finally:
        worker.stop()

    # one JSON access line per request: route template, status, ids; no address, no query, no email
    access = [json.loads(line) for line in web_server.log().splitlines()
              if line.startswith("{") and '"townhall.access"' in line]
    room_lines = [a for a in access if a.get("route") == route]
    assert len(room_lines) >= 4
    assert room_lines[0]["status"] == 200 and room_lines[0]["request_id"] and room_lines[0]["tenant_id"] == tenant
    raw = "\n".join(json.dumps(a) for a in access)
    assert "198.51.100.23" not in raw and "127.0.0.1" not in raw and "@" not in raw
    assert not re.search(r"\b\d{1,3}(\.\d{1,3}){3}\b", raw)
