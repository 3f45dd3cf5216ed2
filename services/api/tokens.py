"""Tenant API tokens: shown once when created, stored only as a SHA-256 hash, scoped read/write."""
from __future__ import annotations

import hashlib
import secrets

from tenants import audit
from tenants.auth import Staff
from tenants.db import Tx
from tenants.errors import NotFound, ValidationFailed
from tenants.roles import require

SCOPES = ("read", "write")
PREFIX = "th_"


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def create_token(tx: Tx, staff: Staff, name: str, scopes: list[str]) -> tuple[dict, str]:
    """Returns the row and the token itself, which is never shown again."""
    require(staff.role, "settings.edit")
    scopes = sorted(set(scopes))
    if not scopes or not set(scopes) <= set(SCOPES):
        raise ValidationFailed("Choose read, write or both.", field="scopes")
    token = PREFIX + secrets.token_urlsafe(32)
    row = tx.one("insert into api_tokens (tenant_id, name, prefix, token_hash, scopes, created_by)"
                 " values (%s, %s, %s, %s, %s, %s) returning id, name, prefix, scopes, created_at",
                 [tx.tenant_id, name, token[:11], _hash(token), scopes, staff.id])
    audit.record_staff(tx, staff, "api_token.created", "api_token", row["id"], {"name": name, "scopes": scopes})
    return row, token


def revoke_token(tx: Tx, staff: Staff, token_id) -> None:
    require(staff.role, "settings.edit")
    row = tx.one("update api_tokens set revoked_at = now() where id = %s and revoked_at is null returning id, name",
                 [token_id])
    if row is None:
        raise NotFound("We could not find that token.")
    audit.record_staff(tx, staff, "api_token.revoked", "api_token", row["id"], {"name": row["name"]})


def list_tokens(tx: Tx) -> list[dict]:
    return tx.all("select id, name, prefix, scopes, created_at, last_used_at, revoked_at from api_tokens"
                  " order by revoked_at nulls first, created_at desc")


def authenticate(tx: Tx, token: str | None) -> dict | None:
    """The live token row for this tenant (the caller's tenant scope hides every other tenant's)."""
    if not token or not token.startswith(PREFIX) or len(token) > 200:
        return None
    return tx.one("update api_tokens set last_used_at = now() where token_hash = %s and revoked_at is null"
                  " returning id, name, scopes", [_hash(token)])
