"""OpenID Connect single sign-on per tenant (Microsoft Entra ID is what forces use), with Authlib.

The authorisation-code flow with PKCE, state and nonce. The ID token's signature is checked
against the provider's published keys, and its issuer, audience, expiry and nonce by Authlib's
`CodeIDToken`. The verified email maps to an existing active staff account: SSO never creates
accounts. After SSO the usual second-factor rules apply (TOTP if the person has it; admins must).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from psycopg.types.json import Jsonb

from tenants import audit
from tenants.auth import SignIn, Staff, next_stage, start_session
from tenants.db import Tx
from tenants.errors import Forbidden, Unavailable, ValidationFailed
from tenants.roles import require

HTTP_TIMEOUT = 5
METADATA_TTL = 3600
SCOPE = "openid email profile"
_metadata_cache: dict[str, tuple[float, dict]] = {}


@dataclass(frozen=True)
class SsoConfig:
    issuer: str
    client_id: str
    client_secret: str


class SsoFailed(Forbidden):
    """The provider's answer could not be trusted or mapped to a staff member."""


def config_from(settings: dict) -> SsoConfig | None:
    sso = settings.get("sso") or {}
    if not sso.get("enabled") or not sso.get("issuer") or not sso.get("client_id"):
        return None
    return SsoConfig(sso["issuer"], sso["client_id"], sso.get("client_secret", ""))


def issuer_problem(issuer: str) -> str | None:
    parts = urlsplit(issuer)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        return "The issuer must be an https:// address, for example https://login.microsoftonline.com/<tenant id>/v2.0"
    if parts.query or parts.fragment or not parts.hostname:
        return "Give the issuer address only, without ? or # parts."
    return None


def metadata(issuer: str, *, fresh: bool = False) -> dict:
    """The provider's discovery document (cached for an hour); its issuer must match exactly."""
    cached = _metadata_cache.get(issuer)
    if cached and not fresh and time.monotonic() - cached[0] < METADATA_TTL:
        return cached[1]
    try:
        response = requests.get(issuer.rstrip("/") + "/.well-known/openid-configuration", timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError):
        raise Unavailable("We could not reach your organisation's sign-in provider. Try again, or sign in "
                          "with your password.") from None
    if document.get("issuer") != issuer or not all(
            document.get(k) for k in ("authorization_endpoint", "token_endpoint", "jwks_uri")):
        raise ValidationFailed("That address does not publish a matching OpenID Connect configuration.",
                               field="sso_issuer")
    _metadata_cache[issuer] = (time.monotonic(), document)
    return document


def _session(config: SsoConfig, redirect_uri: str, state: str | None = None) -> OAuth2Session:
    return OAuth2Session(config.client_id, config.client_secret, scope=SCOPE, redirect_uri=redirect_uri,
                         state=state, code_challenge_method="S256", default_timeout=HTTP_TIMEOUT)


def begin(config: SsoConfig, redirect_uri: str) -> tuple[str, dict]:
    """The provider URL to send the browser to, and what to keep (in the signed session) until it returns."""
    meta = metadata(config.issuer)
    verifier, nonce = generate_token(64), generate_token(32)
    url, state = _session(config, redirect_uri).create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
    return url, {"state": state, "nonce": nonce, "verifier": verifier}


def finish(config: SsoConfig, redirect_uri: str, callback_url: str, pending: dict) -> dict:
    """Exchange the code and return the ID token's checked claims; raises SsoFailed on anything amiss."""
    meta = metadata(config.issuer)
    try:
        token = _session(config, redirect_uri, pending["state"]).fetch_token(
            meta["token_endpoint"], authorization_response=callback_url, code_verifier=pending["verifier"])
    except (OAuth2Error, KeyError, ValueError) as exc:
        raise SsoFailed(f"Single sign-on did not complete ({getattr(exc, 'error', 'invalid response')}). "
                        "Try again.") from None
    except requests.RequestException:
        raise Unavailable("We could not reach your organisation's sign-in provider. Try again.") from None
    if "id_token" not in token:
        raise SsoFailed("The sign-in provider did not send an ID token.")
    return _checked_claims(token, meta, config, pending["nonce"])


def _keys(meta: dict) -> KeySet:
    try:
        response = requests.get(meta["jwks_uri"], timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        return KeySet.import_key_set(response.json())
    except (requests.RequestException, ValueError):
        raise Unavailable("We could not read the sign-in provider's keys. Try again.") from None


def _checked_claims(token: dict, meta: dict, config: SsoConfig, nonce: str) -> dict:
    algorithms = meta.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = [a for a in algorithms if a != "none"]
    try:
        decoded = jwt.decode(token["id_token"], _keys(meta), algorithms=algorithms)
        claims = CodeIDToken(decoded.claims, decoded.header,
                             {"iss": {"essential": True, "values": [meta["issuer"]]},
                              "aud": {"essential": True, "values": [config.client_id]}},
                             {"nonce": nonce, "client_id": config.client_id,
                              "access_token": token.get("access_token")})
        claims.validate(leeway=60)
    except (JoseError, ValueError) as exc:
        raise SsoFailed(f"The sign-in provider's answer could not be verified ({exc.__class__.__name__}).") from None
    return dict(claims)


def verified_email(claims: dict) -> str | None:
    """`email` when the provider vouches for it: `email_verified`, or Entra ID's `xms_edov`
    (the email's domain is verified as belonging to the organisation)."""
    email = claims.get("email")
    if isinstance(email, str) and "@" in email and (claims.get("email_verified") is True
                                                    or claims.get("xms_edov") in (True, "1", 1)):
        return email.strip().lower()
    return None


def sign_in_with_claims(tx: Tx, claims: dict, *, issuer: str, ip: str | None) -> SignIn:
    email = verified_email(claims)
    row = None
    if email:
        row = tx.one("select *, coalesce(locked_until > now(), false) as locked from staff_users"
                     " where email = %s and status = 'active' and role <> 'panelist' for update", [email])
    if row is None or row["locked"]:
        audit.record(tx, actor_kind="system", actor_label=email or str(claims.get("sub", "")),
                     action="staff.sso_refused", target_kind="staff",
                     details={"issuer": issuer, "reason": "locked" if row else "no active account"}, ip=ip)
        if row:
            return SignIn(error=Forbidden("This account is locked after repeated failed attempts. Try again later."))
        return SignIn(error=SsoFailed(
            "Your organisation account signed you in, but there is no active staff account here for "
            f"{email or 'it (the provider did not confirm an email address)'}. Ask an admin to invite you."))
    return start_session(tx, row, next_stage(row), ip, method="oidc")


def update_settings(tx: Tx, staff: Staff, data: dict) -> None:
    """Turn SSO on or off; with it on, the issuer must publish a matching discovery document.
    A blank secret keeps the stored one (it is never shown again)."""
    require(staff.role, "settings.edit")
    stored = (tx.value("select settings from tenants where id = %s", [tx.tenant_id]) or {}).get("sso") or {}
    secret = data["sso_client_secret"] or stored.get("client_secret", "")
    sso = {"enabled": data["sso_enabled"], "issuer": data["sso_issuer"], "client_id": data["sso_client_id"],
           "client_secret": secret}
    if sso["enabled"]:
        for field, value, message in (("sso_issuer", sso["issuer"], "Give the issuer address."),
                                      ("sso_client_id", sso["client_id"], "Give the client (application) ID."),
                                      ("sso_client_secret", secret, "Give the client secret.")):
            if not value:
                raise ValidationFailed(message, field=field)
        problem = issuer_problem(sso["issuer"])
        if problem:
            raise ValidationFailed(problem, field="sso_issuer")
        try:
            metadata(sso["issuer"], fresh=True)
        except Unavailable:
            raise ValidationFailed("We could not read the OpenID configuration at that address: check it "
                                   "(it ends /v2.0 for Microsoft Entra ID).", field="sso_issuer") from None
    tx.execute("update tenants set settings = settings || %s, updated_at = now() where id = %s",
               [Jsonb({"sso": sso}), tx.tenant_id])
    audit.record_staff(tx, staff, "settings.sso_updated", "tenant", tx.tenant_id,
                       {"enabled": sso["enabled"], "issuer": sso["issuer"], "client_id": sso["client_id"],
                        "secret_changed": bool(data["sso_client_secret"])})
