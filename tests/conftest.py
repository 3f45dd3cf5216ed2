"""Fixtures: a fresh migrated database per test session on a real PostgreSQL, a real Redis,
the Flask app and client (Flask's tutorial shape), tenants made per test, and real server
processes (live, web) started on demand."""
from __future__ import annotations

import os
import uuid

import pytest

from services.app import create_app
from services.ops.config import load_config
from tenants.auth import create_staff
from tenants.db import tenant_scope
from tenants.migrate import migrate
from tenants.provisioning import create_tenant
from tests.support.ratelimits import forget_rate_limits
from tests.support.smtp_sink import start_sink
from tests.support.stack import start_test_stack

PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    stack = start_test_stack(str(tmp_path_factory.mktemp("embedded")))
    migrate(stack.owner_url)
    yield stack
    stack.drop()


@pytest.fixture(scope="session")
def smtp_sink():
    sink, controller = start_sink()
    yield sink
    controller.stop()


@pytest.fixture(scope="session")
def env(stack, smtp_sink) -> dict:
    return {**os.environ, "TOWNHALL_ENV": "test", "DATABASE_URL": stack.owner_url, "REDIS_URL": stack.redis_url,
            "SECRET_KEY": "test-secret-key-for-townhall-tests-0123456789", "LOG_FORMAT": "text",
            "LOG_LEVEL": "WARNING", "SOCKETIO_CHANNEL": f"townhall-test-{uuid.uuid4().hex[:8]}",
            "SMTP_URL": smtp_sink.url}


@pytest.fixture(autouse=True)
def fresh_rate_limits(request):
    """Rate-limit windows (per network: every test client is 127.0.0.1) start empty for each test."""
    if "stack" in request.fixturenames:
        forget_rate_limits(request.getfixturevalue("stack").redis_url)


@pytest.fixture(scope="session")
def config(env):
    return load_config(env)


@pytest.fixture(scope="session")
def app(config):
    app = create_app(config, process="web")
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
    yield app


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def app_ctx(app):
    with app.app_context():
        yield app


@pytest.fixture()
def make_tenant(app_ctx):
    def make(state="active", **kwargs):
        slug = kwargs.pop("slug", f"t-{uuid.uuid4().hex[:10]}")
        return create_tenant(slug=slug, name=kwargs.pop("name", f"Tenant {slug}"), state=state, **kwargs)
    return make


@pytest.fixture()
def make_staff(app_ctx):
    def make(tenant, role="admin", **kwargs):
        email = kwargs.pop("email", f"{role}-{uuid.uuid4().hex[:6]}@force.police.uk")
        with tenant_scope(tenant.id) as tx:
            return create_staff(tx, email=email, display_name=kwargs.pop("display_name", f"{role.title()} Person"),
                                role=role, password=PASSWORD, title=kwargs.pop("title", ""))
    return make
