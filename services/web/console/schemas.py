"""Console form input, validated at the edge. Messages say what to fix; they show next to the field."""
from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from flask import current_app, has_app_context
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from services.rooms.schemas import LONDON, MODES
from services.web.forms import CodeSchema, FormSchema  # noqa: F401  (CodeSchema: the console's forms use it too)
from tenants.auth import ROLES

EMAIL_INVALID = "Enter an email address like name@force.police.uk."
ROLE_CHOICE = "Choose admin, host or moderator."
MAX_FOOTER_LINKS = 8
MAX_EMBED_ORIGINS = 20
# a website origin: https, a host name with a dot (or "*." for every subdomain), an optional port
HTTPS_ORIGIN = re.compile(r"^https://(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}(:(?P<port>\d{1,5}))?$")
LOCAL_ORIGIN = re.compile(r"^http://(localhost|127\.0\.0\.1)(:(?P<port>\d{1,5}))?$")


class SignInSchema(FormSchema):
    email = fields.Email(required=True, error_messages={"invalid": EMAIL_INVALID})
    password = fields.String(required=True, validate=validate.Length(1, 256))


class EmailSchema(FormSchema):
    email = fields.Email(required=True, error_messages={"required": "Enter your email address.",
                                                        "invalid": EMAIL_INVALID})


class NewPasswordSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    password = fields.String(required=True, validate=validate.Length(max=256),
                             error_messages={"required": "Choose a password."})


class PersonSchema(FormSchema):
    email = fields.Email(required=True, error_messages={"required": "Enter their work email address.",
                                                        "invalid": EMAIL_INVALID})
    display_name = fields.String(required=True, validate=validate.Length(1, 80, error="Enter their name (up to 80 characters)."),
                                 error_messages={"required": "Enter their name."})
    title = fields.String(load_default="", validate=validate.Length(max=120, error="Use at most 120 characters."))


class InviteSchema(PersonSchema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES, error=ROLE_CHOICE),
                         error_messages={"required": "Choose a role."})


def numbered_lines(value) -> list[tuple[int, str]]:
    """A textarea's lines, numbered from 1 (what a form posts is text; anything else is refused)."""
    if value is not None and not isinstance(value, str):
        raise ValidationError("Enter text, one entry a line.")
    return list(enumerate((value or "").splitlines(), start=1))


class FooterLinks(fields.Field):
    """A textarea, one link a line: `Label | https://address`."""

    def _deserialize(self, value, attr, data, **kwargs):
        links = []
        for number, line in numbered_lines(value):
            if not line.strip():
                continue
            label, bar, url = line.partition("|")
            label, url = label.strip(), url.strip()
            if not bar or not label or not url.startswith(("https://", "http://")) or " " in url:
                raise ValidationError(f"Line {number}: write a label, a bar and a web address, "
                                      "for example: Contact us | https://www.example.police.uk/contact")
            if len(label) > 60 or len(url) > 500:
                raise ValidationError(f"Line {number}: keep the label under 60 characters and the address under 500.")
            links.append({"label": label, "url": url})
        if len(links) > MAX_FOOTER_LINKS:
            raise ValidationError(f"Use at most {MAX_FOOTER_LINKS} footer links.")
        return links


class EmbedOrigins(fields.Field):
    """A textarea, one website a line: the origins allowed to frame the tenant's chats (CSP
    `frame-ancestors`). https only; http://localhost (or 127.0.0.1) for testing, never in production."""

    def _deserialize(self, value, attr, data, **kwargs):
        origins: list[str] = []
        for number, line in numbered_lines(value):
            entry = line.strip()
            if entry:
                origin = _embed_origin(number, entry)
                if origin not in origins:
                    origins.append(origin)
        if len(origins) > MAX_EMBED_ORIGINS:
            raise ValidationError(f"List at most {MAX_EMBED_ORIGINS} websites; you listed {len(origins)}.")
        return origins


def _embed_origin(number: int, entry: str) -> str:
    shown = entry if len(entry) <= 80 else entry[:77] + "..."
    origin = entry.lower().removesuffix("/")
    local = LOCAL_ORIGIN.match(origin)
    if local and (not has_app_context() or current_app.config["TOWNHALL"].is_production):
        raise ValidationError(f"Line {number}: “{shown}” is for testing on your own computer and is not allowed "
                              "here. Give your website's https:// address.")
    match = local or HTTPS_ORIGIN.match(origin)
    if match is None:
        why = "must start with https://" if not origin.startswith("https://") else "is not a website address on its own"
        raise ValidationError(f"Line {number}: “{shown}” {why}. Give only the start of the address, "
                              "for example https://www.example.police.uk (no path, spaces or other characters).")
    if match.group("port") and not 1 <= int(match.group("port")) <= 65535:
        raise ValidationError(f"Line {number}: “{shown}” has a port that does not exist (use 1 to 65535).")
    return origin


class EmbedSchema(FormSchema):
    embed_domains = EmbedOrigins(load_default=list)


class BrandingSchema(FormSchema):
    organisation = fields.String(required=True, validate=validate.Length(2, 120, error="Give your organisation's name (2 to 120 characters)."),
                                 error_messages={"required": "Give your organisation's name."})
    primary = fields.String(required=True, error_messages={"required": "Enter the primary colour."})
    accent = fields.String(required=True, error_messages={"required": "Enter the accent colour."})
    welcome_text = fields.String(load_default="", validate=validate.Length(max=2000, error="Use at most 2,000 characters."))
    footer_links = FooterLinks(load_default=list)
    privacy_url = fields.String(load_default="")
    signposting_text = fields.String(load_default="", validate=validate.Length(max=2000, error="Use at most 2,000 characters."))

    @validates_schema
    def privacy_link(self, data, **kwargs):
        url = data.get("privacy_url", "")
        if url and (not url.startswith(("https://", "http://")) or " " in url or len(url) > 500):
            raise ValidationError("Give the full web address of your privacy notice, starting https://.",
                                  field_name="privacy_url")


class DefaultsSchema(FormSchema):
    mode = fields.String(load_default="moderated", validate=validate.OneOf(MODES, error="Choose a mode."))
    votes_enabled = fields.Boolean(load_default=False)
    slow_mode_seconds = fields.Integer(required=True, validate=validate.Range(0, 3600, error="Use 0 to 3600 seconds."),
                                       error_messages={"invalid": "Enter a whole number of seconds."})
    retention_days = fields.Integer(required=True, validate=validate.Range(30, 3650, error="Use 30 to 3650 days (10 years)."),
                                    error_messages={"invalid": "Enter a whole number of days."})
    recordings_retention_days = fields.Integer(
        load_default=None, allow_none=True,
        validate=validate.Range(30, 3650, error="Use 30 to 3650 days (10 years), or leave it empty to keep recordings with the transcript."),
        error_messages={"invalid": "Enter a whole number of days, or leave it empty."})
    languages = fields.List(fields.String(validate=validate.OneOf(("en", "cy"))), required=True,
                            validate=validate.Length(min=1, error="Offer at least one language."),
                            error_messages={"required": "Offer at least one language."})

    def tidy(self, data):
        if data.get("votes_enabled") in ("on", "off", ""):
            data["votes_enabled"] = data["votes_enabled"] == "on"
        if isinstance(data.get("recordings_retention_days"), str) and not data["recordings_retention_days"].strip():
            data["recordings_retention_days"] = None
        return data


class SsoSchema(FormSchema):
    sso_enabled = fields.Boolean(load_default=False)
    sso_issuer = fields.String(load_default="", validate=validate.Length(max=300))
    sso_client_id = fields.String(load_default="", validate=validate.Length(max=200))
    sso_client_secret = fields.String(load_default="", validate=validate.Length(max=500))

    def tidy(self, data):
        data["sso_enabled"] = data.get("sso_enabled") == "on"
        return data


class AuditFilterSchema(FormSchema):
    actor = fields.String(load_default="", validate=validate.Length(max=120))
    action = fields.String(load_default="", validate=validate.Length(max=80))
    date_from = fields.Date(load_default=None, error_messages={"invalid": "Enter a date like 2026-03-31."})
    date_to = fields.Date(load_default=None, error_messages={"invalid": "Enter a date like 2026-03-31."})
    page = fields.Integer(load_default=1, validate=validate.Range(1, 10_000))

    def tidy(self, data):
        return {k: v for k, v in data.items() if v != ""}

    @validates_schema
    def ordered(self, data, **kwargs):
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            raise ValidationError("The end date must be on or after the start date.", field_name="date_to")


def london_day_bounds(start, end) -> tuple[datetime | None, datetime | None]:
    """Dates chosen in UK time, as instants: from the start of `start` to the end of `end`."""
    lower = datetime.combine(start, time(), LONDON) if start else None
    upper = datetime.combine(end + timedelta(days=1), time(), LONDON) if end else None
    return lower, upper
