"""Signed webhooks through a real Celery worker: room.live and room.closed reach the tenant's
endpoint, signed with its secret, retried after failures, and never reach another tenant."""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from services.api import webhooks
from services.rooms import actions as room_actions
from tenants.db import tenant_scope
from tests.support.servers import ROOT, free_port
from tests.support.workers import wait_until


class Receiver:
    """A webhook endpoint that answers 500 to its first `failures` requests, then 200."""

    def __init__(self, failures: int):
        self.failures = failures
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                failing = len(receiver.requests) <= receiver.failures
                self.send_response(500 if failing else 200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_for(self, count: int, timeout: float = 30) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.requests) >= count, f"only {len(self.requests)} of {count} webhook requests arrived"
        return self.requests


@pytest.fixture(scope="module")
def worker(env, tmp_path_factory):
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    out = open(log, "wb")
    proc = subprocess.Popen([sys.executable, "-m", "services.cli", "worker", "--queues", "default",
                             "--concurrency", "1"], cwd=ROOT, env={**env, "WEBHOOK_RETRY_SECONDS": "0.02"},
                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 40
    while b" ready." not in log.read_bytes():
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")
        time.sleep(0.2)
    yield proc
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def verify(secret: str, request: dict) -> dict:
    stamp, signature = dict(part.split("=", 1) for part in request["headers"]["X-Townhall-Signature"].split(","))\
        .values()
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + request["body"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected), "the signature does not match the body"
    assert abs(time.time() - int(stamp)) < 120
    return json.loads(request["body"])


def test_room_events_are_delivered_signed_with_retries(app_ctx, make_world, worker):
    world = make_world(state="scheduled")
    other = make_world(state="scheduled")
    receiver, stranger = Receiver(failures=2), Receiver(failures=0)
    with tenant_scope(world.tenant.id) as tx:
        endpoint = webhooks.create_endpoint(tx, world.admin, receiver.url("/hooks/townhall"),
                                            ["room.live", "room.closed"], production=False)
    with tenant_scope(other.tenant.id) as tx:
        webhooks.create_endpoint(tx, other.admin, stranger.url("/other"), list(webhooks.EVENTS), production=False)

    with tenant_scope(world.tenant.id) as tx:
        room_actions.change_state(tx, world.admin, world.room["id"], "live")
    attempts = receiver.wait_for(3)          # two 500s, then accepted
    assert len({r["headers"]["X-Townhall-Delivery"] for r in attempts}) == 1, "one delivery, retried"
    payload = verify(endpoint["secret"], attempts[-1])
    assert payload["event"] == "room.live" and attempts[-1]["headers"]["X-Townhall-Event"] == "room.live"
    assert payload["data"]["id"] == str(world.room["id"]) and payload["data"]["state"] == "live"

    with tenant_scope(world.tenant.id) as tx:
        room_actions.change_state(tx, world.admin, world.room["id"], "closed")
    closed = verify(endpoint["secret"], receiver.wait_for(4)[3])
    assert closed["event"] == "room.closed"

    def deliveries():   # the receiver answers before the worker records the outcome
        with tenant_scope(world.tenant.id) as tx:
            rows = tx.all("select event, status, attempts, last_status from webhook_deliveries order by created_at")
        return [(r["event"], r["status"], r["attempts"], r["last_status"]) for r in rows]
    expected = [("room.live", "delivered", 3, 200), ("room.closed", "delivered", 1, 200)]
    wait_until(lambda: deliveries() == expected, timeout=10, message="both deliveries recorded")
    time.sleep(0.5)
    assert stranger.requests == [], "another tenant's endpoint heard nothing"


def test_a_dead_endpoint_is_given_up_after_the_last_attempt(app_ctx, make_world, worker):
    from workers import webhooks as worker_module

    world = make_world(state="scheduled")
    receiver = Receiver(failures=1000)
    with tenant_scope(world.tenant.id) as tx:
        webhooks.create_endpoint(tx, world.admin, receiver.url("/down"), ["room.live"], production=False)
        room_actions.change_state(tx, world.admin, world.room["id"], "live")
    receiver.wait_for(worker_module.MAX_ATTEMPTS, timeout=60)
    deadline = time.monotonic() + 10
    while True:
        with tenant_scope(world.tenant.id) as tx:
            row = tx.one("select status, attempts, last_error from webhook_deliveries")
        if row["status"] != "pending" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert (row["status"], row["attempts"], row["last_error"]) == ("failed", worker_module.MAX_ATTEMPTS, "HTTP 500")
    time.sleep(1)
    assert len(receiver.requests) == worker_module.MAX_ATTEMPTS, "no tries after giving up"


def test_endpoint_addresses_are_checked(app_ctx, make_world):
    world = make_world()
    with tenant_scope(world.tenant.id) as tx:
        for bad in ("ftp://example.org/x", "not a url", "http://"):
            with pytest.raises(Exception) as refused:
                webhooks.create_endpoint(tx, world.admin, bad, ["room.live"], production=False)
            assert getattr(refused.value, "field", None) == "url"
        with pytest.raises(Exception):
            webhooks.create_endpoint(tx, world.admin, "http://example.org/hook", ["room.live"], production=True)
    assert not webhooks.public_address("http://127.0.0.1/hook")
    assert not webhooks.public_address("http://169.254.169.254/latest/meta-data")


def test_transcript_ready_is_announced_once_when_the_worker_stores_the_transcript(app_ctx, make_world, worker):
    from workers import transcripts

    world = make_world(state="live")
    receiver = Receiver(failures=0)
    with tenant_scope(world.tenant.id) as tx:
        endpoint = webhooks.create_endpoint(tx, world.admin, receiver.url("/hooks/transcripts"),
                                            ["transcript.ready"], production=False)
        room_actions.change_state(tx, world.admin, world.room["id"], "closed")   # the worker builds it
    payload = verify(endpoint["secret"], receiver.wait_for(1, timeout=60)[0])
    assert payload["event"] == "transcript.ready" and payload["data"]["id"] == str(world.room["id"])
    assert payload["data"]["state"] == "closed" and payload["data"]["digest"]
    assert transcripts.build_and_store(world.tenant.id, world.room["id"]) == "stored"   # a rebuild...
    time.sleep(0.5)
    with tenant_scope(world.tenant.id) as tx:   # ...is not announced again
        assert tx.value("select count(*) from webhook_deliveries where event = 'transcript.ready'") == 1
        assert tx.value("select generation from transcripts where room_id = %s", [world.room["id"]]) == 2
