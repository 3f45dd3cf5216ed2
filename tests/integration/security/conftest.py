from __future__ import annotations

import psycopg
import pytest


@pytest.fixture(scope="session")
def owner_db(stack):
    """The test database as its owner: reads every tenant's rows regardless of row-level security."""
    with psycopg.connect(stack.owner_url, autocommit=True) as conn:
        yield conn
