from __future__ import annotations

import uuid

import pytest

from tests.support.live_client import client_factory
from tests.support.resilient_client import ResilientClient


@pytest.fixture()
def resilient():
    """ResilientClient factory; closes every client at the end (in parallel: each waits for its socket).
    Call `close_all()` before stopping a test's own servers, or the clients keep reconnecting to them."""
    make = client_factory(ResilientClient, "close")
    yield make
    make.close_all()


@pytest.fixture()
def channel() -> str:
    return f"townhall-fault-{uuid.uuid4().hex[:8]}"
