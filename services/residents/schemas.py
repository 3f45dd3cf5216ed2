from marshmallow import EXCLUDE, Schema, fields, validate


class JoinSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    display_name = fields.String(load_default="", validate=validate.Length(max=200))


class RegisterSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    email = fields.Email(required=True, validate=validate.Length(max=254),
                         error_messages={"invalid": "Enter an email address like name@example.com.",
                                         "required": "Enter your email address."})
    # the page's language, posted by the form (emails follow it); anything else means the request's
    language = fields.String(load_default=None, validate=validate.Length(max=8))
