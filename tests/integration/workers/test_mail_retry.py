"""SMTP down: the message waits in PostgreSQL and is retried with backoff until it goes, once.
(Its own module: no other worker may take the mail queue while the SMTP server is "down".)"""
from __future__ import annotations

import uuid

from tests.integration.workers.test_mail import mail_row, queue_test_mail
from tests.support.servers import free_port
from tests.support.workers import start_worker, wait_until
from services.dev.mail_sink import start_sink as start_sink_in_process


def test_smtp_down_retries_with_backoff_then_sends_once(app_ctx, make_tenant, worker_env, work_dir, tmp_path):
    port = free_port()   # nothing listens here yet
    down = start_worker({**worker_env, "SMTP_URL": f"smtp://127.0.0.1:{port}"}, work_dir, queues="mail",
                        name="worker-smtp-down")
    try:
        tenant = make_tenant()
        to = f"retry-{uuid.uuid4().hex[:8]}@example.org"
        mail_id = queue_test_mail(tenant, to)
        failed = wait_until(lambda: (r := mail_row(tenant, mail_id))["last_error"] and r, 20, message="a failed attempt")
        assert failed["status"] in ("queued", "sending") and failed["attempts"] >= 1
        assert "ConnectionRefused" in failed["last_error"]
        controller = start_sink_in_process(tmp_path / "late-sink", port=port)
        try:
            sent = wait_until(lambda: (r := mail_row(tenant, mail_id))["status"] == "sent" and r, 40, message="the retry")
            received = [p for p in (tmp_path / "late-sink").glob("*.eml")]
            assert len(received) == 1 and to in received[0].read_text()
            assert sent["attempts"] >= 2
        finally:
            controller.stop()
    finally:
        down.stop()
