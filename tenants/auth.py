"""Staff sign-in: passwords, lockout after repeated failures, server-side sessions.

Sessions are rows (`staff_sessions`), so removing a staff member or "sign out everywhere"
ends their sessions at once; the browser cookie holds only a random token whose SHA-256 is
stored.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from tenants import audit
from tenants.db import Tx
from tenants.errors import DomainError, Forbidden, RateLimited
from tenants.passwords import hash_password, verify_password

MAX_FAILURES = 10
LOCKOUT = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)
ROLES = ("admin", "host", "moderator")
# Verified when there is no such account, so an unknown email takes as long as a wrong password
# (otherwise the response time tells an attacker which emails are staff accounts).
_DUMMY_HASH = hash_password("no account has this password")


@dataclass(frozen=True)
class Staff:
    id: UUID
    tenant_id: UUID
    email: str
    display_name: str
    title: str
    role: str
    ip: str | None = None   # where the current request came from, for the audit log

    @property
    def label(self) -> str:
        return f"{self.display_name} <{self.email}>"


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _staff(row: dict) -> Staff:
    return Staff(id=row["id"], tenant_id=row["tenant_id"], email=row["email"],
                 display_name=row["display_name"], title=row["title"], role=row["role"])


def create_staff(tx: Tx, *, email: str, display_name: str, role: str, password: str | None,
                 title: str = "") -> Staff:
    row = tx.one(
        "insert into staff_users (tenant_id, email, display_name, role, title, password_hash)"
        " values (%s, %s, %s, %s, %s, %s) returning *",
        [tx.tenant_id, email.lower(), display_name, role, title,
         hash_password(password) if password else None],
    )
    return _staff(row)


@dataclass(frozen=True)
class SignIn:
    """The outcome; a failure is returned, not raised, so its audit row commits."""
    staff: Staff | None = None
    token: str | None = None
    error: DomainError | None = None


def sign_in(tx: Tx, *, email: str, password: str, ip: str | None) -> SignIn:
    row = tx.one("select *, coalesce(locked_until > now(), false) as locked from staff_users"
                 " where email = %s and status = 'active' for update", [email.lower()])
    if row and row["locked"]:
        return SignIn(error=RateLimited("Too many failed attempts: this account is locked for 15 minutes.",
                                        retry_after=int(LOCKOUT.total_seconds())))
    stored = row["password_hash"] if row else None
    matches = verify_password(stored or _DUMMY_HASH, password) and stored is not None
    if not row or not matches:
        if row:
            _record_failure(tx, row, ip)
        return SignIn(error=Forbidden("That email and password do not match an account here."))
    tx.execute("update staff_users set failed_logins = 0, locked_until = null where id = %s", [row["id"]])
    staff = _staff(row)
    token = secrets.token_urlsafe(32)
    tx.execute("insert into staff_sessions (tenant_id, staff_id, token_hash, expires_at, ip)"
               " values (%s, %s, %s, now() + %s, %s)",
               [tx.tenant_id, staff.id, _token_hash(token), SESSION_LIFETIME, ip])
    audit.record(tx, actor_kind="staff", actor_id=staff.id, actor_label=staff.label,
                 action="staff.signed_in", target_kind="staff", target_id=staff.id, ip=ip)
    return SignIn(staff=staff, token=token)


def _record_failure(tx: Tx, row: dict, ip: str | None) -> None:
    failures = row["failed_logins"] + 1
    locked = failures >= MAX_FAILURES
    tx.execute("update staff_users set failed_logins = %s,"
               " locked_until = case when %s then now() + %s else locked_until end where id = %s",
               [0 if locked else failures, locked, LOCKOUT, row["id"]])
    audit.record(tx, actor_kind="staff", actor_id=row["id"], actor_label=row["email"],
                 action="staff.sign_in_locked" if locked else "staff.sign_in_failed",
                 target_kind="staff", target_id=row["id"], details={"failures": failures}, ip=ip)


def staff_for_session(tx: Tx, token: str | None) -> Staff | None:
    if not token:
        return None
    row = tx.one(
        "select u.* from staff_sessions s join staff_users u on u.id = s.staff_id"
        " where s.token_hash = %s and s.revoked_at is null and s.expires_at > now()"
        " and u.status = 'active'",
        [_token_hash(token)],
    )
    return _staff(row) if row else None


def sign_out(tx: Tx, token: str) -> None:
    tx.execute("update staff_sessions set revoked_at = now() where token_hash = %s and revoked_at is null",
               [_token_hash(token)])


def staff_by_id(tx: Tx, staff_id) -> Staff | None:
    row = tx.one("select * from staff_users where id = %s and status = 'active'", [staff_id])
    return _staff(row) if row else None
