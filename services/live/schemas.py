"""Payloads of live commands (from Socket.IO events and the console's HTML forms)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate, validates

from services.engagement.reasons import REJECTION_REASONS

QUESTION_MAX = 1000
ANSWER_MAX = 5000


class _Base(Schema):
    class Meta:
        unknown = EXCLUDE

    @pre_load
    def strip_strings(self, data, **kwargs):
        if not isinstance(data, dict):
            raise ValidationError("Send an object of fields.", field_name="_schema")
        return {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}


def _text(maximum: int, error: str):
    return fields.String(required=True, validate=validate.Length(1, maximum, error=error))


class AskSchema(_Base):
    body = _text(QUESTION_MAX, _l("A question must be between {min} and {max} characters."))


class QuestionRefSchema(_Base):
    question_id = fields.UUID(required=True)


class ApproveSchema(QuestionRefSchema):
    body = fields.String(load_default=None, validate=validate.Length(max=QUESTION_MAX))


class RejectSchema(QuestionRefSchema):
    reason = fields.String(required=True, validate=validate.OneOf(
        list(REJECTION_REASONS), error="Choose a reason from the list."))


class EscalateSchema(QuestionRefSchema):
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class MergeSchema(QuestionRefSchema):
    into_id = fields.UUID(required=True, error_messages={"required": "Choose the published question it repeats.",
                                                         "invalid": "Choose the published question it repeats."})


class MergeGroupSchema(_Base):
    group_id = fields.UUID(required=True, error_messages={"required": "Say which group to merge.",
                                                          "invalid": "Say which group to merge."})
    keep_id = fields.UUID(load_default=None, error_messages={"invalid": "Choose one of the group's questions to publish."})


class _Themes(_Base):
    theme_ids = fields.List(fields.UUID(), load_default=list, validate=validate.Length(max=20))

    @pre_load
    def one_theme(self, data, **kwargs):
        if isinstance(data, dict) and isinstance(data.get("theme_ids"), str):
            data = {**data, "theme_ids": [data["theme_ids"]] if data["theme_ids"] else []}
        return data


class TagSchema(_Themes):
    question_id = fields.UUID(required=True)


class TagPollSchema(_Themes):
    poll_id = fields.UUID(required=True)


class ReplySchema(QuestionRefSchema):
    body = _text(ANSWER_MAX, "A reply must be between {min} and {max} characters.")


class AssignSchema(QuestionRefSchema):
    assignee_id = fields.UUID(required=True)


class AnswerSchema(QuestionRefSchema):
    body = _text(ANSWER_MAX, "An answer must be between {min} and {max} characters.")


class AnnouncementSchema(_Base):
    body = _text(2000, "An announcement must be between {min} and {max} characters.")


class PollSchema(_Base):
    prompt = fields.String(required=True, validate=validate.Length(3, 300))
    kind = fields.String(load_default="single", validate=validate.OneOf(("single", "multiple")))
    options = fields.List(fields.String(validate=validate.Length(1, 120)), required=True,
                          validate=validate.Length(2, 10, error="A poll needs between {min} and {max} options."))
    results_visibility = fields.String(load_default="live", validate=validate.OneOf(("live", "after_close")))

    @pre_load
    def options_from_lines(self, data, **kwargs):
        if isinstance(data, dict) and isinstance(data.get("options"), str):
            data = {**data, "options": [line.strip() for line in data["options"].splitlines() if line.strip()]}
        return data


class PollRefSchema(_Base):
    poll_id = fields.UUID(required=True)


class PollVoteSchema(PollRefSchema):
    option_ids = fields.List(fields.Integer(strict=False), required=True, validate=validate.Length(
        1, 10, error=_l("Choose between {min} and {max} options.")))

    @pre_load
    def single_option(self, data, **kwargs):
        if isinstance(data, dict) and not isinstance(data.get("option_ids", []), list):
            data = {**data, "option_ids": [data["option_ids"]]}
        return data


class RoomStateSchema(_Base):
    state = fields.String(required=True, validate=validate.OneOf(("scheduled", "draft", "live", "closed", "archived")))


# only a broken or tampered page sends a bad `resume`: one sentence covers every way it can be wrong
CANNOT_CATCH_UP = _l("We could not catch up with the chat. Reload the page.")


class ResumeSchema(_Base):
    stream = fields.String(load_default="room", validate=validate.OneOf(("room", "staff"), error=CANNOT_CATCH_UP),
                           error_messages={"invalid": CANNOT_CATCH_UP})
    after = fields.Integer(required=True, strict=False, validate=validate.Range(min=0, error=CANNOT_CATCH_UP),
                           error_messages={"required": CANNOT_CATCH_UP, "invalid": CANNOT_CATCH_UP,
                                           "null": CANNOT_CATCH_UP, "too_large": CANNOT_CATCH_UP})

    @validates("after")
    def not_huge(self, value, **kwargs):
        if value > 2**62:
            raise ValidationError(CANNOT_CATCH_UP)
