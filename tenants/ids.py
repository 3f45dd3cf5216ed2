"""Parsing ids from untrusted input: a malformed id is simply 'not found', never an error page."""
from __future__ import annotations

from uuid import UUID


def parse_uuid(value) -> UUID | None:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None
