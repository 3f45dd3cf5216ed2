"""Staff sign-in: passwords, TOTP, lockout after repeated failures, server-side sessions.

Sessions are rows (`staff_sessions`), so removing a staff member or "sign out everywhere"
ends their sessions at once; the browser cookie holds only a random token whose SHA-256 is
stored. A session is `full` only once every factor is given: after the password, a staff
member with TOTP gets an `mfa` session that can only enter the code, and an admin without
TOTP gets a `setup` session that can only set it up. Wrong TOTP codes count towards the same
lockout as wrong passwords, and each code works once.
"""
from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import pyotp

from tenants import audit, emails, links
from tenants.db import Tx
from tenants.errors import Conflict, DomainError, Forbidden, Gone, RateLimited
from tenants.passwords import check_password, hash_password, verify_password

MAX_FAILURES = 10
LOCKOUT = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)
STEP_LIFETIME = timedelta(minutes=10)     # between the password and the TOTP code
RESET_LIFETIME = timedelta(hours=1)
ROLES = ("admin", "host", "moderator")    # roles of full staff accounts; panelists are per room
TOTP_ISSUER = "Townhall"
_token_hash = links.token_hash
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
    mfa_enabled: bool = False

    @property
    def label(self) -> str:
        return f"{self.display_name} <{self.email}>"


def _staff(row: dict) -> Staff:
    return Staff(id=row["id"], tenant_id=row["tenant_id"], email=row["email"], display_name=row["display_name"],
                 title=row["title"], role=row["role"], mfa_enabled=row.get("totp_secret") is not None)


def create_staff(tx: Tx, *, email: str, display_name: str, role: str, password: str | None,
                 title: str = "") -> Staff:
    row = tx.one(
        "insert into staff_users (tenant_id, email, display_name, role, title, password_hash, password_changed_at)"
        " values (%s, %s, %s, %s, %s, %s, case when %s then now() end) returning *",
        [tx.tenant_id, email.lower(), display_name, role, title,
         hash_password(password) if password else None, bool(password)],
    )
    return _staff(row)


@dataclass(frozen=True)
class SignIn:
    """The outcome; a failure is returned, not raised, so its audit row commits."""
    staff: Staff | None = None
    token: str | None = None
    error: DomainError | None = None
    stage: str = "full"        # "mfa": ask for the code; "setup": an admin must set up TOTP


def _locked_error() -> RateLimited:
    return RateLimited("Too many failed attempts: this account is locked for 15 minutes.",
                       retry_after=int(LOCKOUT.total_seconds()))


def sign_in(tx: Tx, *, email: str, password: str, ip: str | None) -> SignIn:
    row = tx.one("select *, coalesce(locked_until > now(), false) as locked from staff_users"
                 " where email = %s and status = 'active' for update", [email.lower()])
    if row and row["locked"]:
        return SignIn(error=_locked_error())
    stored = row["password_hash"] if row else None
    matches = verify_password(stored or _DUMMY_HASH, password) and stored is not None
    if not row or not matches:
        if row:
            _record_failure(tx, row, ip)
        return SignIn(error=Forbidden("That email and password do not match an account here."))
    tx.execute("update staff_users set failed_logins = 0, locked_until = null where id = %s", [row["id"]])
    return start_session(tx, row, next_stage(row), ip, method="password")


def next_stage(row: dict) -> str:
    """What a staff member must still do after their first factor (password or single sign-on)."""
    if row["totp_secret"]:
        return "mfa"
    return "setup" if row["role"] == "admin" else "full"


def start_session(tx: Tx, row: dict, stage: str, ip: str | None, *, method: str,
                  not_after: datetime | None = None) -> SignIn:
    staff = _staff(row)
    token = secrets.token_urlsafe(32)
    lifetime = SESSION_LIFETIME if stage == "full" else STEP_LIFETIME
    tx.execute("insert into staff_sessions (tenant_id, staff_id, token_hash, expires_at, ip, stage)"
               " values (%s, %s, %s, least(now() + %s, %s), %s, %s)",
               [tx.tenant_id, staff.id, _token_hash(token), lifetime, not_after, ip, stage])
    if stage == "full":
        _signed_in(tx, staff, ip, method)
    return SignIn(staff=staff, token=token, stage=stage)


def _signed_in(tx: Tx, staff: Staff, ip: str | None, method: str) -> None:
    tx.execute("update staff_users set last_sign_in_at = now() where id = %s", [staff.id])
    audit.record(tx, actor_kind="staff", actor_id=staff.id, actor_label=staff.label, action="staff.signed_in",
                 target_kind="staff", target_id=staff.id, details={"method": method}, ip=ip)


def _record_failure(tx: Tx, row: dict, ip: str | None, factor: str = "password") -> None:
    failures = row["failed_logins"] + 1
    locked = failures >= MAX_FAILURES
    tx.execute("update staff_users set failed_logins = %s,"
               " locked_until = case when %s then now() + %s else locked_until end where id = %s",
               [0 if locked else failures, locked, LOCKOUT, row["id"]])
    audit.record(tx, actor_kind="staff", actor_id=row["id"], actor_label=row["email"],
                 action="staff.sign_in_locked" if locked else "staff.sign_in_failed",
                 target_kind="staff", target_id=row["id"], details={"failures": failures, "factor": factor}, ip=ip)


def _session_row(tx: Tx, token: str | None, stages: tuple[str, ...]) -> dict | None:
    if not token or len(token) > 128:
        return None
    return tx.one(
        "select u.*, s.id as session_id, s.stage, coalesce(u.locked_until > now(), false) as locked"
        " from staff_sessions s join staff_users u on u.id = s.staff_id"
        " where s.token_hash = %s and s.revoked_at is null and s.expires_at > now()"
        " and u.status = 'active' and s.stage = any(%s)",
        [_token_hash(token), list(stages)],
    )


def _locked_session_row(tx: Tx, token: str | None, stages: tuple[str, ...]) -> dict | None:
    """The session's row read again after locking the staff row (codes and counters race otherwise)."""
    row = _session_row(tx, token, stages)
    if row is None:
        return None
    tx.execute("select 1 from staff_users where id = %s for update", [row["id"]])
    return _session_row(tx, token, stages)


def staff_for_session(tx: Tx, token: str | None) -> Staff | None:
    row = _session_row(tx, token, ("full",))
    return _staff(row) if row else None


def session_stage(tx: Tx, token: str | None) -> tuple[Staff, str] | None:
    """The staff member and stage of any live session (for the code and set-up steps)."""
    row = _session_row(tx, token, ("mfa", "setup", "full"))
    return (_staff(row), row["stage"]) if row else None


def _promote(tx: Tx, row: dict, ip: str | None, method: str) -> SignIn:
    """The session has every factor now: a new token (no fixation), full lifetime."""
    token = secrets.token_urlsafe(32)
    tx.execute("update staff_sessions set token_hash = %s, stage = 'full', expires_at = now() + %s where id = %s",
               [_token_hash(token), SESSION_LIFETIME, row["session_id"]])
    staff = _staff(row)
    _signed_in(tx, staff, ip, method)
    return SignIn(staff=staff, token=token)


# --- TOTP -----------------------------------------------------------------------------------

def totp_counter(secret: str, code: str, last_counter: int, now: float | None = None) -> int | None:
    """The time step a six-digit code matches (allowing one step of clock drift), if not used before."""
    code = (code or "").replace(" ", "").strip()
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int((time.time() if now is None else now) // totp.interval)
    for counter in (current - 1, current, current + 1):
        if counter > last_counter and hmac.compare_digest(totp.generate_otp(counter), code):
            return counter
    return None


def _use_code(tx: Tx, row: dict, secret: str, code: str) -> bool:
    counter = totp_counter(secret, code, row["totp_last_counter"])
    if counter is None:
        return False
    tx.execute("update staff_users set totp_last_counter = %s, failed_logins = 0 where id = %s", [counter, row["id"]])
    return True


def complete_mfa(tx: Tx, *, token: str | None, code: str, ip: str | None) -> SignIn:
    row = _locked_session_row(tx, token, ("mfa",))
    if row is None:
        return SignIn(error=Forbidden("Your sign-in has timed out: enter your email and password again."))
    if row["locked"]:
        return SignIn(error=_locked_error())
    if not _use_code(tx, row, row["totp_secret"], code):
        _record_failure(tx, row, ip, factor="totp")
        return SignIn(error=Forbidden("That code is not right. Enter the 6-digit code your app shows now.",
                                      field="code"))
    return _promote(tx, row, ip, "password+totp")


def begin_totp_setup(tx: Tx, staff_id) -> str:
    """The secret to show while setting up (kept until confirmed, so a reload shows the same one)."""
    pending = tx.value("select totp_pending_secret from staff_users where id = %s", [staff_id])
    if pending:
        return pending
    secret = pyotp.random_base32()
    tx.execute("update staff_users set totp_pending_secret = %s where id = %s", [secret, staff_id])
    return secret


def totp_uri(secret: str, email: str, organisation: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=f"{TOTP_ISSUER} ({organisation})")


def confirm_totp_setup(tx: Tx, *, token: str | None, code: str, ip: str | None) -> SignIn:
    """Turn TOTP on with the first correct code; a `setup` session becomes a full one."""
    row = _locked_session_row(tx, token, ("setup", "full"))
    if row is None:
        return SignIn(error=Forbidden("Your sign-in has timed out: sign in again to set up two-step verification."))
    if not row["totp_pending_secret"]:
        return SignIn(error=Conflict("Start again: the set-up page shows a new code to scan.", field="code"))
    if not _use_code(tx, row, row["totp_pending_secret"], code):
        return SignIn(error=Forbidden("That code is not right. Enter the 6-digit code your app shows now.",
                                      field="code"))
    tx.execute("update staff_users set totp_secret = totp_pending_secret, totp_pending_secret = null where id = %s",
               [row["id"]])
    staff = _staff(row)
    audit.record(tx, actor_kind="staff", actor_id=staff.id, actor_label=staff.label, action="staff.totp_enabled",
                 target_kind="staff", target_id=staff.id, ip=ip)
    if row["stage"] == "setup":
        return _promote(tx, row, ip, "password+totp_setup")
    return SignIn(staff=staff, token=token)


def disable_totp(tx: Tx, staff: Staff) -> None:
    if staff.role == "admin":
        raise Forbidden("Admins must keep two-step verification on.")
    tx.execute("update staff_users set totp_secret = null, totp_pending_secret = null where id = %s", [staff.id])
    audit.record_staff(tx, staff, "staff.totp_disabled", "staff", staff.id)


# --- sessions -------------------------------------------------------------------------------

def sign_out(tx: Tx, token: str) -> None:
    tx.execute("update staff_sessions set revoked_at = now() where token_hash = %s and revoked_at is null",
               [_token_hash(token)])


def revoke_sessions(tx: Tx, staff_id) -> int:
    return tx.execute("update staff_sessions set revoked_at = now() where staff_id = %s and revoked_at is null",
                      [staff_id]).rowcount


def sign_out_everywhere(tx: Tx, staff: Staff) -> int:
    count = revoke_sessions(tx, staff.id)
    audit.record_staff(tx, staff, "staff.signed_out_everywhere", "staff", staff.id, {"sessions": count})
    return count


def staff_by_id(tx: Tx, staff_id) -> Staff | None:
    row = tx.one("select * from staff_users where id = %s and status = 'active'", [staff_id])
    return _staff(row) if row else None


# --- passwords ------------------------------------------------------------------------------

def request_password_reset(tx: Tx, *, email: str, ip: str | None, organisation: str, link_for) -> None:
    """Emails a one-hour, one-use link if the address is an active account; says nothing either way."""
    row = tx.one("select * from staff_users where email = %s and status = 'active' and role <> 'panelist'",
                 [email.lower()])
    if row is None:
        return
    token = links.issue(tx, "reset", RESET_LIFETIME, staff_id=row["id"], email=row["email"])
    audit.record(tx, actor_kind="staff", actor_id=row["id"], actor_label=row["email"],
                 action="staff.password_reset_requested", target_kind="staff", target_id=row["id"], ip=ip)
    emails.send_after_commit(tx, row["email"], *emails.password_reset(organisation, link_for(token)))


def reset_password(tx: Tx, *, token: str, password: str, ip: str | None) -> Staff:
    check_password(password)
    link = links.consume(tx, token, "reset")
    row = tx.one("update staff_users set password_hash = %s, password_changed_at = now(), failed_logins = 0,"
                 " locked_until = null where id = %s and status = 'active' returning *",
                 [hash_password(password), link["staff_id"]])
    if row is None:
        raise Gone(links.EXPIRED)
    revoke_sessions(tx, row["id"])
    staff = _staff(row)
    audit.record(tx, actor_kind="staff", actor_id=staff.id, actor_label=staff.label, action="staff.password_reset",
                 target_kind="staff", target_id=staff.id, ip=ip)
    return staff
