"""The API's shapes (marshmallow): what each endpoint returns and accepts. The OpenAPI document is
generated from these (openapi.py), so the document and the responses cannot drift apart."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

STATES = ("scheduled", "live", "closed", "archived")


class RoomLinksSchema(Schema):
    page = fields.Url(required=True, metadata={"description": "The room's public page"})
    embed = fields.Url(required=True, metadata={"description": "The page to put in an iframe"})
    short = fields.Url(required=True, metadata={"description": "Short link for posters"})
    calendar = fields.Url(required=True, metadata={"description": "iCalendar file for this chat"})


class RoomSchema(Schema):
    id = fields.UUID(required=True)
    title = fields.String(required=True)
    title_cy = fields.String(required=True, metadata={"description": "Welsh title, or empty"})
    description = fields.String(required=True)
    description_cy = fields.String(required=True)
    area = fields.String(required=True)
    tags = fields.List(fields.String(), required=True)
    state = fields.String(required=True, validate=validate.OneOf(STATES))
    mode = fields.String(required=True, validate=validate.OneOf(("moderated", "open")))
    language = fields.String(required=True, validate=validate.OneOf(("en", "cy")))
    votes_enabled = fields.Boolean(required=True)
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)
    links = fields.Nested(RoomLinksSchema, required=True)


class RoomListSchema(Schema):
    rooms = fields.List(fields.Nested(RoomSchema), required=True)
    limit = fields.Integer(required=True)
    offset = fields.Integer(required=True)


class AnswerSchema(Schema):
    id = fields.UUID(required=True)
    body = fields.String(required=True)
    by = fields.String(required=True, metadata={"description": "Display name of the verified staff member"})
    title = fields.String(required=True, metadata={"description": "Their job title, or empty"})
    created_at = fields.String(required=True, metadata={"format": "date-time"})


class QuestionSchema(Schema):
    id = fields.UUID(required=True)
    body = fields.String(required=True)
    display_name = fields.String(required=True)
    asked_in_advance = fields.Boolean(required=True)
    votes = fields.Integer(required=True)
    published_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    answers = fields.List(fields.Nested(AnswerSchema), required=True)


class QuestionListSchema(Schema):
    room_id = fields.UUID(required=True)
    questions = fields.List(fields.Nested(QuestionSchema), required=True)


class TranscriptSchema(Schema):
    room_id = fields.UUID(required=True)
    built_at = fields.AwareDateTime(required=True)
    text = fields.String(required=True, metadata={"description": "The plain-text transcript"})
    page = fields.Url(required=True, metadata={"description": "The accessible HTML transcript"})


class RegistrationRequestSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    email = fields.Email(required=True, validate=validate.Length(max=254),
                         metadata={"description": "The resident's address; it is sent a link to confirm (double opt-in)"})
    language = fields.String(load_default=None, validate=validate.OneOf(("en", "cy")),
                             metadata={"description": "The language the resident reads in (en or cy, one the "
                                                      "organisation offers); every email to them is in it. "
                                                      "Default: the chat's language"})


class RegistrationAcceptedSchema(Schema):
    room_id = fields.UUID(required=True)
    status = fields.String(required=True, validate=validate.Equal("pending_confirmation"),
                           metadata={"description": "Always pending_confirmation: the same answer whether or not "
                                                    "the address was registered before"})


class ErrorSchema(Schema):
    error = fields.String(required=True, metadata={"description": "A stable code, e.g. not_found"})
    message = fields.String(required=True, metadata={"description": "What went wrong, for people"})
    field = fields.String(metadata={"description": "The input at fault, when there is one"})
    details = fields.Dict()


class RoomQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    state = fields.String(validate=validate.OneOf(STATES), metadata={"description": "Only rooms in this state"})
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 100))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 100_000))
