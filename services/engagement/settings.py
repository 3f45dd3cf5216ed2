"""The tenant's engagement settings, kept in `tenants.settings` (JSON):

- `escalation_email`: the force contact-centre address that receives safeguarding escalations;
- `escalation_webhook_url` and `escalation_webhook_secret`: a signed POST per escalation;
- `escalation_share_network_hash`: whether the resident's keyed network hash goes with it
  (we never store a raw IP, so nothing more can be shared);
- `crime_reporting_url`: the force's online crime-reporting page, shown with 101 to a resident
  whose message reads as a crime report (services/screening);
- `rejection_reasons`: `{"disabled": [codes], "texts": {code: text}, "signpost": text}`: which
  built-in reason codes moderators may use and what the resident is told;
- `assist_grouping`: whether moderator assist groups similar questions in the queue (default
  true; services/assist, docs/assist.md).
"""
from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import current_app
from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate, validates
from psycopg.types.json import Jsonb

from services.engagement.reasons import REJECTION_REASONS
from tenants import audit
from tenants.db import Tx
from tenants.errors import ValidationFailed
from tenants.roles import require

REASON_TEXT_MAX = 600


def read(tx: Tx) -> dict:
    return tx.value("select settings from tenants where id = %s", [tx.tenant_id]) or {}


class EngagementSettingsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    escalation_email = fields.Email(load_default="", allow_none=True,
                                    error_messages={"invalid": "Enter the contact centre's email address, like "
                                                               "contact.centre@force.police.uk."})
    escalation_webhook_url = fields.String(load_default="", validate=validate.Length(max=500))
    escalation_share_network_hash = fields.Boolean(load_default=False)
    crime_reporting_url = fields.String(load_default="", validate=validate.Length(max=500))
    regenerate_secret = fields.Boolean(load_default=False)
    signpost = fields.String(load_default="", validate=validate.Length(max=REASON_TEXT_MAX))
    disabled = fields.List(fields.String(validate=validate.OneOf(list(REJECTION_REASONS),
                                                                 error="Choose reasons from the list.")),
                           load_default=list)
    texts = fields.Dict(keys=fields.String(validate=validate.OneOf(list(REJECTION_REASONS))),
                        values=fields.String(validate=validate.Length(max=REASON_TEXT_MAX)), load_default=dict)

    @pre_load
    def strip(self, data, **kwargs):
        if not isinstance(data, dict):
            raise ValidationError("Send an object of fields.", field_name="_schema")
        data = {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}
        if data.get("escalation_email") == "":
            data["escalation_email"] = None   # no address: escalations are recorded, not mailed
        return data

    @validates("escalation_webhook_url")
    def webhook_url(self, value, **kwargs):
        if not value:
            return
        parts = urlsplit(value)
        allowed = ("https",) if current_app.config["TOWNHALL"].is_production else ("https", "http")
        if parts.scheme not in allowed or not parts.hostname or parts.username or parts.password:
            raise ValidationError("Enter the webhook address, starting https://, without a user name or password.")

    @validates("crime_reporting_url")
    def reporting_url(self, value, **kwargs):
        parts = urlsplit(value)
        if value and (parts.scheme != "https" or not parts.hostname or parts.username or parts.password):
            raise ValidationError("Enter the address of your online crime-reporting page, starting https://, "
                                  "for example https://www.police.uk/ro/report/.")


def update(tx: Tx, staff, data: dict) -> dict:
    """Store the engagement settings (admins only); returns the whole new settings object."""
    require(staff.role, "settings.edit")
    if len(data["disabled"]) >= len(REJECTION_REASONS):
        raise ValidationFailed("Keep at least one rejection reason turned on.", field="disabled")
    current = tx.one("select settings from tenants where id = %s for update", [tx.tenant_id])["settings"] or {}
    secret = current.get("escalation_webhook_secret")
    if data["escalation_webhook_url"] and (not secret or data["regenerate_secret"]):
        secret = secrets.token_urlsafe(32)
    changes = {
        "escalation_email": (data["escalation_email"] or "").lower(),
        "escalation_webhook_url": data["escalation_webhook_url"],
        "escalation_webhook_secret": secret or "",
        "escalation_share_network_hash": data["escalation_share_network_hash"],
        "crime_reporting_url": data["crime_reporting_url"],
        "rejection_reasons": {"disabled": sorted(set(data["disabled"])),
                              "texts": {k: v for k, v in data["texts"].items() if v},
                              "signpost": data["signpost"]},
    }
    row = tx.one("update tenants set settings = settings || %s, updated_at = now() where id = %s returning settings",
                 [Jsonb(changes), tx.tenant_id])
    audit.record_staff(tx, staff, "settings.engagement_changed", "tenant", tx.tenant_id,
                       {"escalation_email": bool(changes["escalation_email"]),
                        "webhook": bool(changes["escalation_webhook_url"]),
                        "share_network_hash": changes["escalation_share_network_hash"],
                        "crime_reporting_url": changes["crime_reporting_url"],
                        "secret_regenerated": secret != current.get("escalation_webhook_secret"),
                        "disabled_reasons": changes["rejection_reasons"]["disabled"]})
    return row["settings"]
