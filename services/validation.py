"""Loading untrusted input with a marshmallow schema; failures become one domain error with a clear message."""
from __future__ import annotations

from marshmallow import Schema, ValidationError

from tenants.errors import ValidationFailed


def load(schema: type[Schema], data) -> dict:
    try:
        return schema().load(data)
    except ValidationError as exc:
        raise ValidationFailed.from_messages(exc.messages) from None
