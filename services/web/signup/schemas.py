from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate, validates

SLUG_RULE = r"^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$"
RESERVED_SLUGS = frozenset({"www", "api", "admin", "app", "platform", "signup", "static", "vendor", "mail",
                            "help", "support", "status", "townhall", "live", "socket"})


def _strip(data):
    return {k: v.strip() if isinstance(v, str) else v for k, v in data.items()} if isinstance(data, dict) else data


class SignupSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    organisation = fields.String(required=True, validate=validate.Length(2, 120, error="Give your organisation's name."),
                                 error_messages={"required": "Give your organisation's name."})
    slug = fields.String(required=True, error_messages={"required": "Choose a web address."},
                         validate=validate.Regexp(SLUG_RULE, error="Use 3 to 40 lower-case letters, digits and "
                                                  "hyphens, starting and ending with a letter or digit."))
    contact_name = fields.String(required=True, validate=validate.Length(1, 80, error="Give your name."),
                                 error_messages={"required": "Give your name."})
    email = fields.Email(required=True, error_messages={"required": "Give your work email address.",
                                                        "invalid": "Enter an email address like name@force.police.uk."})

    @pre_load
    def tidy(self, data, **kwargs):
        data = _strip(data)
        if isinstance(data, dict) and isinstance(data.get("slug"), str):
            data["slug"] = data["slug"].lower()
        return data

    @validates("slug")
    def not_reserved(self, value, **kwargs):
        if value in RESERVED_SLUGS:
            raise ValidationError("That address is reserved: choose another.")


class PasswordSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    password = fields.String(required=True, validate=validate.Length(max=256),
                             error_messages={"required": "Choose a password."})
