"""Emailed links: sign-up verification, staff invitations, password resets, panelist links.

The link carries a random token; only its SHA-256 is stored. One-use links are consumed with a
single conditional UPDATE, so two clicks at once cannot both succeed.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from psycopg.types.json import Jsonb

from tenants.db import Tx
from tenants.errors import Gone

EXPIRED = "This link has expired or has already been used."


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def issue(tx: Tx, purpose: str, lifetime: timedelta, *, staff_id=None, room_id=None, email: str | None = None,
          data: dict | None = None) -> str:
    """A new link; earlier unused links for the same staff member, purpose and room stop working."""
    if staff_id is not None:
        tx.execute("update auth_links set used_at = now() where staff_id = %s and purpose = %s"
                   " and room_id is not distinct from %s and used_at is null", [staff_id, purpose, room_id])
    token = secrets.token_urlsafe(32)
    tx.execute("insert into auth_links (tenant_id, purpose, token_hash, staff_id, room_id, email, data, expires_at)"
               " values (%s, %s, %s, %s, %s, %s, %s, now() + %s)",
               [tx.tenant_id, purpose, token_hash(token), staff_id, room_id, email, Jsonb(data or {}), lifetime])
    return token


def find(tx: Tx, token: str | None, purpose: str) -> dict | None:
    """The link if it is still valid (unused, unexpired), else None."""
    if not token or len(token) > 128:
        return None
    return tx.one("select * from auth_links where token_hash = %s and purpose = %s and used_at is null"
                  " and expires_at > now()", [token_hash(token), purpose])


def consume(tx: Tx, token: str | None, purpose: str) -> dict:
    """Use a one-time link; raises Gone when it is unknown, expired or already used."""
    row = None
    if token and len(token) <= 128:
        row = tx.one("update auth_links set used_at = now() where token_hash = %s and purpose = %s"
                     " and used_at is null and expires_at > now() returning *", [token_hash(token), purpose])
    if row is None:
        raise Gone(EXPIRED)
    return row


def revoke_for_staff(tx: Tx, staff_id, *, room_id=None) -> None:
    query = "update auth_links set used_at = now() where staff_id = %s and used_at is null"
    params = [staff_id]
    if room_id is not None:
        query += " and room_id = %s"
        params.append(room_id)
    tx.execute(query, params)
