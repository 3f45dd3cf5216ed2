"""Room input, validated at the edge. Times arrive in Europe/London and are stored in UTC."""
from __future__ import annotations

from datetime import datetime, timezone

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema, pre_load

from services.lib.formatting import LONDON

MODES = ("moderated", "open")


class LondonDateTime(fields.DateTime):
    """Accepts `2026-12-01T19:00` (a datetime-local input) as London time; returns aware UTC."""

    def _deserialize(self, value, attr, data, **kwargs):
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if not 2000 <= parsed.year <= 2100:   # also keeps the time-zone arithmetic in range
            raise ValidationError("Enter a date between the years 2000 and 2100.")
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=LONDON)
        return parsed.astimezone(timezone.utc)


def _clean_tags(value):
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        return value  # the List field says "Not a valid list."
    return [t.strip() if isinstance(t, str) else t for t in value if not isinstance(t, str) or t.strip()]


class RoomSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    title = fields.String(required=True, validate=validate.Length(3, 140))
    description = fields.String(load_default="", validate=validate.Length(max=5000))
    title_cy = fields.String(load_default="", validate=validate.Length(max=140))
    description_cy = fields.String(load_default="", validate=validate.Length(max=5000))
    tags = fields.List(fields.String(validate=validate.Length(1, 40)), load_default=list,
                       validate=validate.Length(max=12), metadata={"item": "Tag"})
    area = fields.String(load_default="", validate=validate.Length(max=120))
    starts_at = LondonDateTime(required=True)
    ends_at = LondonDateTime(required=True)
    mode = fields.String(load_default="moderated", validate=validate.OneOf(MODES))
    votes_enabled = fields.Boolean(load_default=True)
    slow_mode_seconds = fields.Integer(load_default=30, validate=validate.Range(0, 3600))
    welcome_text = fields.String(load_default="", validate=validate.Length(max=2000))
    signposting_text = fields.String(load_default="", validate=validate.Length(max=2000))
    closing_text = fields.String(load_default="", validate=validate.Length(max=2000))
    language = fields.String(load_default="en", validate=validate.OneOf(("en", "cy")))

    @pre_load
    def normalise(self, data, **kwargs):
        if not isinstance(data, dict):
            return data
        data = {k: v for k, v in data.items() if v is not None}
        if "tags" in data:
            data["tags"] = _clean_tags(data["tags"])
        if "votes_enabled" in data and data["votes_enabled"] in ("on", ""):
            data["votes_enabled"] = data["votes_enabled"] == "on"
        return data

    @validates_schema(skip_on_field_errors=False)
    def ends_after_start(self, data, **kwargs):
        if "starts_at" in data and "ends_at" in data and data["ends_at"] <= data["starts_at"]:
            raise ValidationError("The end must be after the start.", field_name="ends_at")


def london(dt: datetime) -> datetime:
    return dt.astimezone(LONDON)
