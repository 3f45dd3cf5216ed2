"""Loading untrusted input with a marshmallow schema; failures become one domain error with a clear message.

Every schema's output also passes one check here, so no slice has to remember it: text may not
contain NUL or lone surrogate code points (PostgreSQL cannot store them: they would fail as a
database error after validation) nor other control characters (they have no place in questions
or names, and break transcripts and exports). Tab, newline and carriage return are fine.
"""
from __future__ import annotations

import re

from marshmallow import Schema, ValidationError

from tenants.errors import ValidationFailed

_UNACCEPTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
UNACCEPTABLE_MESSAGE = "contains characters we cannot accept (control characters or broken text). Retype it and try again."


def load(schema: type[Schema], data) -> dict:
    try:
        loaded = schema().load(data)
    except ValidationError as exc:
        raise ValidationFailed.from_messages(exc.messages) from None
    _check_text(loaded, "")
    return loaded


def _check_text(value, path: str) -> None:
    if isinstance(value, str):
        if _UNACCEPTABLE.search(value):
            field = path.split(".")[0] or "_schema"
            raise ValidationFailed(f"{field}: {UNACCEPTABLE_MESSAGE}", field=field)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, (list, tuple, set)):
        for item in value:
            _check_text(item, path)
