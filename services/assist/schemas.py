"""Input of the assist pages (validated at the edge: services/web/engagement/views.py)."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate


class DecideSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    decision = fields.String(required=True, validate=validate.OneOf(["accept", "reject"], error="Choose accept or reject."),
                             error_messages={"required": "Choose accept or reject."})
    suggestion_ids = fields.List(fields.UUID(error_messages={"invalid": "Choose suggestions from the list."}),
                                 required=True, validate=validate.Length(1, 2000, error="Choose at least one suggestion."),
                                 error_messages={"required": "Choose at least one suggestion."})
