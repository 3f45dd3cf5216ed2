from marshmallow import EXCLUDE, Schema, fields, validate


class SignInSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    email = fields.Email(required=True, error_messages={"invalid": "Enter an email address like name@force.police.uk."})
    password = fields.String(required=True, validate=validate.Length(1, 256))
