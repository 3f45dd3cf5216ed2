"""Outgoing mail through a real worker and a real SMTP sink: stored first, sent once, retried with
backoff while the SMTP server is down, found again by the sweep when its task was lost."""
from __future__ import annotations

import uuid

from services.app import create_app
from tenants.db import tenant_scope
from tests.support.workers import wait_until
from services.mail import outbox
from workers import mail


LONG_TEXT = "Plain words. " + "A long paragraph of words – with non-ASCII text. " * 60


def queue_test_mail(tenant, to: str, ref: str | None = None, enqueue: bool = True):
    with tenant_scope(tenant.id) as tx:
        mail_id = outbox.queue_mail(tx, ref=ref or f"test:{uuid.uuid4()}", kind="test", to=to,
                                  rendered=outbox.Rendered("Hello from the test", LONG_TEXT, "<p>Rich words.</p>"),
                                  sender_name=tenant.name)
        if not enqueue:
            tx._after_commit.clear()
    return mail_id


def mail_row(tenant, mail_id) -> dict:
    with tenant_scope(tenant.id) as tx:
        return tx.one("select * from outbound_mail where id = %s", [mail_id])


def test_a_queued_message_is_sent_once_with_both_parts(app_ctx, make_tenant, worker, sink):
    tenant = make_tenant()
    to = f"resident-{uuid.uuid4().hex[:8]}@example.org"
    ref = f"test:{uuid.uuid4()}"
    mail_id = queue_test_mail(tenant, to, ref)
    assert queue_test_mail(tenant, to, ref) is None            # the same ref again: no second message
    [message] = sink.wait_for(to)
    assert message.subject == "Hello from the test"
    assert message.text().strip() == LONG_TEXT.strip() and "<p>Rich words.</p>" in message.html()
    raw = bytes(mail_row(tenant, mail_id)["message"])   # SMTP line ends, so any server accepts it
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    assert message.message["From"] == f"{tenant.name} <no-reply@townhall.local>"
    assert message.message["Message-ID"] == f"<{mail_id}@townhall.local>"
    row = wait_until(lambda: (r := mail_row(tenant, mail_id))["status"] == "sent" and r)
    assert row["attempts"] == 1 and row["sent_at"] is not None
    with tenant_scope(tenant.id) as tx:   # running the task again changes nothing
        assert mail.claim(tx, mail_id) is None
    assert len(sink.messages(to)) == 1


def test_backoff_grows_and_is_capped():
    assert [mail.backoff_seconds(n) for n in (1, 2, 3, 4)] == [2, 4, 8, 16]
    assert mail.backoff_seconds(30) == mail.BACKOFF_CAP_SECONDS


def test_sweep_resends_mail_whose_task_was_lost(app_ctx, make_tenant, worker, sink):
    tenant = make_tenant()
    to = f"lost-{uuid.uuid4().hex[:8]}@example.org"
    mail_id = queue_test_mail(tenant, to, enqueue=False)   # as if Redis lost the task
    with tenant_scope(tenant.id) as tx:
        tx.execute("update outbound_mail set next_attempt_at = now() - interval '5 minutes' where id = %s", [mail_id])
    assert mail.sweep.run() >= 1
    sink.wait_for(to)
    assert wait_until(lambda: mail_row(tenant, mail_id)["status"] == "sent")
    assert len(sink.messages(to)) == 1


def test_a_task_given_another_tenants_ids_does_nothing(app_ctx, make_tenant):
    a, b = make_tenant(), make_tenant()
    mail_id = queue_test_mail(a, "someone@example.org", enqueue=False)
    assert mail.send_mail.run(str(b.id), str(mail_id)) == "not due"
    assert mail_row(a, mail_id)["status"] == "queued" and mail_row(a, mail_id)["attempts"] == 0


def test_dev_mail_page_lists_what_the_sink_received_only_in_development(config, app, sink, worker, make_tenant,
                                                                       app_ctx):
    to = f"devpage-{uuid.uuid4().hex[:8]}@example.org"
    queue_test_mail(make_tenant(), to)
    sink.wait_for(to)
    assert app.test_client().get("/dev/mail/").status_code == 404   # not in test or production
    dev = create_app(config.with_overrides(env="development", mail_sink_dir=str(sink.folder)))
    try:
        page = dev.test_client().get("/dev/mail/")
        assert page.status_code == 200 and to in page.get_data(as_text=True)
        name = sink.messages(to)[0].name
        detail = dev.test_client().get(f"/dev/mail/{name}")
        assert "Hello from the test" in detail.get_data(as_text=True)
        html = dev.test_client().get(f"/dev/mail/{name}/html")
        assert "sandbox" in html.headers["Content-Security-Policy"] and "Rich words" in html.get_data(as_text=True)
        assert dev.test_client().get("/dev/mail/..%2Fsecret.eml").status_code == 404
    finally:
        dev.extensions["townhall_db"].close()
