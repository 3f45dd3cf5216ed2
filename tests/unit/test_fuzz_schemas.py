"""Property-based tests over every marshmallow schema in services/**/schemas.py (found at run
time, so new schemas are covered): hostile input either loads into storable values or is refused
with one clear ValidationFailed; never another exception."""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.lib.validation import load
from tenants.errors import ValidationFailed
from tests.support.nasty import all_schemas, budget, payloads

SCHEMAS = all_schemas()


def test_discovery_finds_the_schemas_we_know():
    names = {s.__name__ for s in SCHEMAS}
    assert {"AskSchema", "PollSchema", "ResumeSchema", "RoomSchema", "SignInSchema", "JoinSchema"} <= names


def _storable(value) -> None:
    """What a schema lets through must be writable to PostgreSQL and JSON: no NUL, valid UTF-8."""
    if isinstance(value, str):
        assert "\x00" not in value
        value.encode("utf-8")
    elif isinstance(value, dict):
        for item in value.values():
            _storable(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _storable(item)


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda s: f"{s.__module__}.{s.__name__}")
@settings(max_examples=budget(100), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_hostile_input_is_loaded_safely_or_refused_clearly(schema, data):
    payload = data.draw(payloads(schema))
    try:
        loaded = load(schema, payload)
    except ValidationFailed as exc:
        assert isinstance(exc.message, str) and exc.message and "{" not in exc.message.split(": ", 1)[-1][:1]
        assert isinstance(exc.field, str) and exc.field
        json.dumps(exc.as_dict(), default=str)   # it travels as a Socket.IO ack or a JSON body
        return
    assert isinstance(loaded, dict)
    _storable(loaded)
