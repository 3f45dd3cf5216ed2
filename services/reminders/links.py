"""Signed links in registrants' messages (tenant, registration, purpose): no secret is stored, and a
link for one tenant never works on another's site."""
from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from services.lib.i18n import N_
from tenants.errors import ValidationFailed

CONFIRM_MAX_AGE = 7 * 24 * 3600
BAD_LINK = N_("This link is not valid or has expired. You can register again on the chat's page.")


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="townhall-registration")


def make_token(tenant_id, registration_id, purpose: str) -> str:
    return _serializer().dumps({"t": str(tenant_id), "r": str(registration_id), "p": purpose})


def read_token(token: str, tenant_id, purpose: str) -> str:
    """The registration id in a token for this tenant and purpose, or ValidationFailed."""
    try:
        data = _serializer().loads(token, max_age=CONFIRM_MAX_AGE if purpose == "confirm" else None)
    except (SignatureExpired, BadSignature):
        raise ValidationFailed(BAD_LINK) from None
    if not isinstance(data, dict) or data.get("t") != str(tenant_id) or data.get("p") != purpose:
        raise ValidationFailed(BAD_LINK)
    return data["r"]
