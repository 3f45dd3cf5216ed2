"""Fixtures for the background-work tests: a real SMTP sink, real Celery workers (subprocesses of
`townhall worker`) on the test PostgreSQL and Redis, and the same settings in this process."""
from __future__ import annotations

import pytest

from tests.conftest import PASSWORD
from tests.support.console import enable_totp, sign_in as console_sign_in
from tests.support.workers import start_sink, start_worker
from workers.celery_app import celery_app


@pytest.fixture(scope="session")
def work_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("workers")


@pytest.fixture(scope="session")
def sink(env, work_dir):
    sink = start_sink(env, work_dir, work_dir / "mail")
    yield sink
    sink.proc.stop()


@pytest.fixture(scope="session")
def worker_env(env, sink, work_dir) -> dict:
    return {**env, "SMTP_URL": sink.url, "MEDIA_DIR": str(work_dir / "media"), "PUBLIC_URL": "http://townhall.test",
            "MAIL_SINK_DIR": str(sink.folder)}


@pytest.fixture(scope="session", autouse=True)
def same_settings_here(app, worker_env):
    """This process queues mail and stores uploads with the settings the workers use."""
    original = app.config["TOWNHALL"]
    app.config["TOWNHALL"] = original.with_overrides(
        smtp_url=worker_env["SMTP_URL"], media_dir=worker_env["MEDIA_DIR"], public_url=worker_env["PUBLIC_URL"],
        mail_sink_dir=worker_env["MAIL_SINK_DIR"])
    yield
    app.config["TOWNHALL"] = original


@pytest.fixture(scope="module")
def worker(worker_env, work_dir):
    """One worker on every queue, for a test module."""
    celery_app.control.purge()   # tasks left by earlier tests (rooms closed without a worker running)
    proc = start_worker(worker_env, work_dir, queues="default,mail,media", concurrency=1)
    yield proc
    proc.stop()


@pytest.fixture()
def signed_in(client):
    def sign_in(tenant, staff):
        secret = enable_totp(tenant, staff) if staff.role == "admin" else None  # admins must use TOTP
        response = console_sign_in(client, tenant, staff.email, secret=secret)
        assert response.status_code == 302 and response.location.endswith(f"/t/{tenant.slug}/console/"), \
            response.get_data(as_text=True)
        return client
    return sign_in
