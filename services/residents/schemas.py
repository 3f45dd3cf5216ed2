from marshmallow import EXCLUDE, Schema, fields, validate


class JoinSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    display_name = fields.String(load_default="", validate=validate.Length(max=200))
