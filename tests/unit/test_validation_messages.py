"""marshmallow's messages become sentences a person can read, whatever the field's shape."""
from __future__ import annotations

import pytest
from marshmallow import Schema, fields, validate

from services.web.forms import field_errors
from services.lib.validation import load
from tenants.errors import ValidationFailed


class ListsSchema(Schema):
    tags = fields.List(fields.String(validate=validate.Length(max=3)), metadata={"item": "Tag"})
    numbers = fields.List(fields.Integer())


def failure(data) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        load(ListsSchema, data)
    return caught.value


def test_list_items_are_named_by_their_label_and_position():
    exc = failure({"tags": ["ok", "too long", "ab", "longer"]})
    assert field_errors(exc) == {"tags": "Tag 2: Longer than maximum length 3."}
    assert exc.details["fields"] == {"tags": ["Tag 2: Longer than maximum length 3.",
                                              "Tag 4: Longer than maximum length 3."]}
    assert exc.message == "tags: Tag 2: Longer than maximum length 3."


def test_a_list_without_a_label_is_named_by_its_field():
    assert field_errors(failure({"numbers": [1, "two"]})) == {"numbers": "Numbers item 2: Not a valid integer."}


def test_other_messages_are_unchanged():
    assert field_errors(failure({"tags": "not a list"})) == {"tags": "Not a valid list."}
