"""Platform admin accounts: created by `townhall create-platform-admin`, signed in with a password
and a TOTP code (mandatory: the first sign-in sets it up), sessions as rows like staff sessions.

Platform admins are not tenant staff: their rows live in `platform_admins` (no tenant), their
sessions in `platform_sessions`, behind a separate cookie on the platform host only. The TOTP
code checking is the staff one (`tenants.auth.totp_counter`): one step of drift, each code once.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from uuid import UUID

import pyotp
from psycopg.types.json import Jsonb

from tenants import links
from tenants.auth import LOCKOUT, MAX_FAILURES, SESSION_LIFETIME, STEP_LIFETIME, totp_counter
from tenants.db import Tx, unscoped
from tenants.errors import Conflict, Forbidden, RateLimited, ValidationFailed
from tenants.passwords import check_password, hash_password, verify_password

_token_hash = links.token_hash


@dataclass(frozen=True)
class PlatformAdmin:
    id: UUID
    email: str
    display_name: str
    ip: str | None = None

    @property
    def label(self) -> str:
        return f"platform:{self.email}"


@dataclass(frozen=True)
class Outcome:
    admin: PlatformAdmin | None = None
    token: str | None = None
    stage: str = "full"
    error: Exception | None = None


def _admin(row: dict) -> PlatformAdmin:
    return PlatformAdmin(id=row["id"], email=row["email"], display_name=row["display_name"] or row["email"])


def record(tx: Tx, admin: PlatformAdmin | None, action: str, tenant_id=None, details: dict | None = None,
           *, label: str = "") -> None:
    """A row in the platform's own append-only audit log."""
    tx.execute("insert into platform_audit (admin_id, actor_label, action, tenant_ref, details, ip)"
               " values (%s, %s, %s, %s, %s, %s)",
               [admin.id if admin else None, admin.label if admin else label, action, tenant_id,
                Jsonb(details or {}), admin.ip if admin else None])


def create_admin(email: str, password: str | None = None, display_name: str = "") -> tuple[PlatformAdmin, str]:
    """A new platform admin with a one-time password (generated unless given); TOTP is set up at first sign-in."""
    email = email.strip().lower()
    if "@" not in email[1:]:
        raise ValidationFailed("Give a full email address.", field="email")
    password = password or secrets.token_urlsafe(15)
    check_password(password)
    with unscoped() as tx:
        if tx.value("select 1 from platform_admins where email = %s", [email]):
            raise Conflict(f"{email} is already a platform admin.", field="email")
        row = tx.one("insert into platform_admins (email, display_name, password_hash) values (%s, %s, %s)"
                     " returning *", [email, display_name, hash_password(password)])
        record(tx, None, "platform_admin.created", details={"email": email}, label="cli")
    return _admin(row), password


def _start(tx: Tx, row: dict, stage: str, ip: str | None) -> Outcome:
    token = secrets.token_urlsafe(32)
    lifetime = SESSION_LIFETIME if stage == "full" else STEP_LIFETIME
    tx.execute("insert into platform_sessions (admin_id, token_hash, stage, expires_at, ip)"
               " values (%s, %s, %s, now() + %s, %s)", [row["id"], _token_hash(token), stage, lifetime, ip])
    return Outcome(admin=_admin(row), token=token, stage=stage)


def _failure(tx: Tx, row: dict, ip: str | None, factor: str) -> None:
    failures = row["failed_logins"] + 1
    locked = failures >= MAX_FAILURES
    tx.execute("update platform_admins set failed_logins = %s,"
               " locked_until = case when %s then now() + %s else locked_until end where id = %s",
               [0 if locked else failures, locked, LOCKOUT, row["id"]])
    tx.execute("insert into platform_audit (admin_id, actor_label, action, details, ip) values (%s, %s, %s, %s, %s)",
               [row["id"], row["email"], "platform_admin.sign_in_failed", Jsonb({"factor": factor}), ip])


def sign_in(tx: Tx, *, email: str, password: str, ip: str | None) -> Outcome:
    """First factor. The next stage is always TOTP: 'mfa', or 'setup' when it is not set up yet."""
    row = tx.one("select *, coalesce(locked_until > now(), false) as locked from platform_admins"
                 " where email = %s and status = 'active' for update", [email.strip().lower()])
    if row and row["locked"]:
        return Outcome(error=RateLimited("Too many failed attempts: this account is locked for 15 minutes.",
                                         retry_after=int(LOCKOUT.total_seconds())))
    if not row or not verify_password(row["password_hash"], password):
        if row:
            _failure(tx, row, ip, "password")
        return Outcome(error=Forbidden("That email and password do not match a platform admin account."))
    tx.execute("update platform_admins set failed_logins = 0, locked_until = null where id = %s", [row["id"]])
    return _start(tx, row, "mfa" if row["totp_secret"] else "setup", ip)


def _session_row(tx: Tx, token: str | None, stages: tuple[str, ...], lock: bool = False) -> dict | None:
    if not token or len(token) > 128:
        return None
    return tx.one(
        "select a.*, s.id as session_id, s.stage, coalesce(a.locked_until > now(), false) as locked"
        " from platform_sessions s join platform_admins a on a.id = s.admin_id"
        " where s.token_hash = %s and s.revoked_at is null and s.expires_at > now() and a.status = 'active'"
        " and s.stage = any(%s)" + (" for update of a" if lock else ""), [_token_hash(token), list(stages)])


def admin_for_session(tx: Tx, token: str | None) -> PlatformAdmin | None:
    row = _session_row(tx, token, ("full",))
    return _admin(row) if row and row["totp_secret"] else None


def session_stage(tx: Tx, token: str | None) -> tuple[PlatformAdmin, str] | None:
    row = _session_row(tx, token, ("mfa", "setup"))
    return (_admin(row), row["stage"]) if row else None


def _promote(tx: Tx, row: dict, ip: str | None) -> Outcome:
    token = secrets.token_urlsafe(32)
    tx.execute("update platform_sessions set token_hash = %s, stage = 'full', expires_at = now() + %s where id = %s",
               [_token_hash(token), SESSION_LIFETIME, row["session_id"]])
    tx.execute("update platform_admins set last_sign_in_at = now() where id = %s", [row["id"]])
    admin = _admin(row)
    record(tx, PlatformAdmin(admin.id, admin.email, admin.display_name, ip), "platform_admin.signed_in")
    return Outcome(admin=admin, token=token)


WRONG_CODE = "That code is not right. Enter the 6-digit code your app shows now."
TIMED_OUT = "Your sign-in has timed out: enter your email and password again."


def _use(tx: Tx, row: dict, secret: str, code: str) -> bool:
    counter = totp_counter(secret, code, row["totp_last_counter"])
    if counter is None:
        return False
    tx.execute("update platform_admins set totp_last_counter = %s, failed_logins = 0 where id = %s",
               [counter, row["id"]])
    return True


def complete_mfa(tx: Tx, *, token: str | None, code: str, ip: str | None) -> Outcome:
    row = _session_row(tx, token, ("mfa",), lock=True)
    if row is None:
        return Outcome(error=Forbidden(TIMED_OUT))
    if row["locked"]:
        return Outcome(error=RateLimited("Too many failed attempts: this account is locked for 15 minutes."))
    if not _use(tx, row, row["totp_secret"], code):
        _failure(tx, row, ip, "totp")
        return Outcome(error=Forbidden(WRONG_CODE, field="code"))
    return _promote(tx, row, ip)


def begin_totp_setup(tx: Tx, admin_id) -> str:
    pending = tx.value("select totp_pending_secret from platform_admins where id = %s", [admin_id])
    if pending:
        return pending
    secret = pyotp.random_base32()
    tx.execute("update platform_admins set totp_pending_secret = %s where id = %s", [secret, admin_id])
    return secret


def totp_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name="Townhall platform")


def confirm_totp_setup(tx: Tx, *, token: str | None, code: str, ip: str | None) -> Outcome:
    row = _session_row(tx, token, ("setup",), lock=True)
    if row is None:
        return Outcome(error=Forbidden(TIMED_OUT))
    if not row["totp_pending_secret"] or not _use(tx, row, row["totp_pending_secret"], code):
        return Outcome(error=Forbidden(WRONG_CODE, field="code"))
    tx.execute("update platform_admins set totp_secret = totp_pending_secret, totp_pending_secret = null"
               " where id = %s", [row["id"]])
    return _promote(tx, row, ip)


def sign_out(tx: Tx, token: str) -> None:
    tx.execute("update platform_sessions set revoked_at = now() where token_hash = %s and revoked_at is null",
               [_token_hash(token)])
