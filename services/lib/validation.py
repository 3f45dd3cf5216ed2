"""Loading untrusted input with a marshmallow schema; failures become one domain error with a clear message.

Every schema's output also passes one check here, so no slice has to remember it: text may not
contain NUL or lone surrogate code points (PostgreSQL cannot store them: they would fail as a
database error after validation) nor other control characters (they have no place in questions
or names, and break transcripts and exports). Tab, newline and carriage return are fine.
"""
from __future__ import annotations

import re
from functools import cache

from marshmallow import Schema, ValidationError, fields

from tenants.errors import ValidationFailed, first_text

_UNACCEPTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
UNACCEPTABLE_MESSAGE = "contains characters we cannot accept (control characters or broken text). Retype it and try again."


def load(schema: type[Schema], data) -> dict:
    instance = _instance(schema)
    try:
        loaded = instance.load(data)
    except ValidationError as exc:
        raise ValidationFailed.from_messages(_sentences(instance, _plain(exc.messages))) from None
    _check_text(loaded, "")
    return loaded


@cache
def _instance(schema: type[Schema]) -> Schema:
    """One instance per schema class: building one costs more than loading a small payload, and a
    marshmallow schema keeps no state between loads."""
    return schema()


def _plain(messages):
    """Translated messages (lazy strings) as text in the reader's language, now, for JSON and f-strings."""
    if isinstance(messages, dict):
        return {key: _plain(value) for key, value in messages.items()}
    if isinstance(messages, list):
        return [_plain(value) for value in messages]
    return str(messages)


def _sentences(schema: Schema, messages):
    """A list's problems are keyed by item index ({"tags": {1: ["Too long."]}}): make each a sentence
    naming the item ("Tag 2: Too long."), by the field's `item` metadata or else its name."""
    if not isinstance(messages, dict):
        return messages
    sentences = dict(messages)
    for name, problems in messages.items():
        field = schema.fields.get(name)
        if isinstance(field, fields.List) and isinstance(problems, dict):
            label = field.metadata.get("item") or f"{name.replace('_', ' ').capitalize()} item"
            sentences[name] = [f"{label} {index + 1}: {first_text(item)}" for index, item in problems.items()]
    return sentences


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
