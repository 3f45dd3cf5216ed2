"""PostgreSQL stopped under running web and live processes: fast, clear 503s with a retry hint,
nothing half-written, and recovery by itself when it returns."""
from __future__ import annotations

import time

import pytest
import requests

from services.app import create_app
from services.ops.config import app_url_from_owner_url, load_config
from tenants.db import tenant_scope
from tests.support.pg_server import PostgresProcess
from tests.support.servers import start_server
from tests.support.worlds import build_world

FAST = 3.0  # seconds: a refusal while the database is down must come back at least this quickly


@pytest.fixture()
def own_postgres(env, channel):
    pg = PostgresProcess()
    own_env = {**env, "DATABASE_URL": pg.owner_url, "APP_DATABASE_URL": app_url_from_owner_url(pg.owner_url),
               "SOCKETIO_CHANNEL": channel}
    app = create_app(load_config(own_env), process="web")
    with app.app_context():
        yield pg, own_env
    pg.cleanup()


def _timed(fn):
    t0 = time.monotonic()
    result = fn()
    return result, time.monotonic() - t0


def test_postgres_down_gives_fast_503s_and_the_service_recovers_by_itself(own_postgres, resilient, tmp_path):
    pg, own_env = own_postgres
    web = start_server("web", own_env, tmp_path)
    live = start_server("live", own_env, tmp_path)
    try:
        world = build_world()
        page = f"{web.url}/t/{world.tenant.slug}/rooms/{world.room['id']}"
        resident = resilient(live.url, world.resident_token(world.join("Dana")), last_seq=world.room["last_seq"])
        assert requests.get(page, timeout=5).status_code == 200
        assert resident.call("ask", {"body": "Asked before the outage"})["ok"]
        pids = (web.proc.pid, live.proc.pid)

        pg.stop()
        html, took_html = _timed(lambda: requests.get(page, timeout=30))
        as_json, took_json = _timed(lambda: requests.get(page, headers={"Accept": "application/json"}, timeout=30))
        join, took_join = _timed(lambda: requests.post(f"{page}/join", data={"display_name": "Eli"}, timeout=30,
                                                       allow_redirects=False))
        ready = requests.get(f"{web.url}/readyz", timeout=30)
        ack, took_ack = _timed(lambda: resident.call("ask", {"body": "Asked while the database is down"}, timeout=30))
        print(f"503 after html {took_html:.2f}s json {took_json:.2f}s join {took_join:.2f}s ack {took_ack:.2f}s")

        for response in (html, as_json, join):
            assert response.status_code == 503
            assert int(response.headers["Retry-After"]) > 0
        assert "briefly unavailable" in html.text and "Traceback" not in html.text
        assert as_json.json()["error"] == "unavailable"
        assert ready.status_code == 503 and ready.json()["checks"]["postgres"] == "unreachable"
        assert ack["ok"] is False and ack["error"] == "unavailable" and ack["details"]["retry_after"] > 0
        assert max(took_html, took_json, took_join, took_ack) < FAST

        pg.start()
        deadline = time.monotonic() + 20
        while requests.get(page, timeout=30).status_code != 200:
            assert time.monotonic() < deadline, "the web process did not recover after PostgreSQL returned"
            time.sleep(0.25)
        while not (ack := resident.call("ask", {"body": "Asked after the outage"}))["ok"]:
            assert time.monotonic() < deadline, f"the live process did not recover: {ack}"
            time.sleep(0.25)
        assert (web.proc.pid, live.proc.pid) == pids and web.proc.poll() is None and live.proc.poll() is None
        with tenant_scope(world.tenant.id) as tx:
            bodies = [r["body"] for r in tx.all("select body from questions order by created_at")]
            assert bodies == ["Asked before the outage", "Asked after the outage"]
            assert tx.value("select count(*) from participants") == 1   # the refused join wrote nothing
            assert tx.value("select count(*) from staff_events") == 2
    finally:
        resilient.close_all()
        web.stop()
        live.stop()
