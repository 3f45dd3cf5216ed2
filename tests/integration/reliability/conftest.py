from __future__ import annotations

import uuid

import pytest

from tests.support.live_client import close_all
from tests.support.resilient_client import ResilientClient


@pytest.fixture()
def resilient():
    """ResilientClient factory; closes every client at the end (in parallel: each waits for its socket)."""
    made: list[ResilientClient] = []

    def make(url, token, **kwargs) -> ResilientClient:
        client = ResilientClient(url, token, **kwargs).connect()
        made.append(client)
        return client

    # call close_all() before stopping a test's own servers, or the clients keep reconnecting to them
    make.close_all = lambda: close_all(made, "close")
    yield make
    make.close_all()


@pytest.fixture()
def channel() -> str:
    return f"townhall-fault-{uuid.uuid4().hex[:8]}"
