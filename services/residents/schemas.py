"""What residents post. Their messages are translated (lazy: the reader's language when they fail);
a value only a tampered form could send (a 200-character name) gets the message of the rule it breaks."""
from flask_babel import lazy_gettext as _l
from marshmallow import EXCLUDE, Schema, fields, validate

BAD_EMAIL = _l("Enter an email address like name@example.com.")


class JoinSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    display_name = fields.String(load_default="", validate=validate.Length(
        max=200, error=_l("Choose a name between 2 and 40 characters.")))


class RegisterSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    # a String with the Email validator: fields.Email will not take a translated (lazy) message
    email = fields.String(required=True, validate=[validate.Email(error=BAD_EMAIL),
                                                   validate.Length(max=254, error=BAD_EMAIL)],
                          error_messages={"required": _l("Enter your email address.")})
    # the page's language, posted by the form (emails follow it); anything else means the request's
    language = fields.String(load_default=None, validate=validate.Length(max=8))
