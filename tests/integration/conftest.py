from __future__ import annotations

import pytest

from tests.support.live_client import LiveClient, client_factory
from tests.support.servers import start_server
from tests.support.worlds import build_world


@pytest.fixture(scope="session")
def live_pair(env, tmp_path_factory):
    """Two live processes sharing one Redis (the production shape)."""
    logs = tmp_path_factory.mktemp("live-logs")
    servers = [start_server("live", env, logs), start_server("live", env, logs)]
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture()
def make_world(app_ctx):
    """A tenant with admin, host and moderator and a room (live by default): tests/support/worlds.py."""
    return build_world


@pytest.fixture()
def clients():
    """LiveClient factory; disconnects every client at the end."""
    make = client_factory(LiveClient, "disconnect")
    yield make
    make.close_all()
