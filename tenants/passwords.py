"""Password hashing (argon2id) and the length rules for staff passwords."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
MIN_LENGTH = 12
MAX_LENGTH = 256


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    if not stored_hash:
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str) -> str | None:
    """None when acceptable, else what to fix (length-based rules, as NCSC advises)."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters (three random words work well)."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    return None


def check_password(password: str, field: str = "password") -> None:
    """Raise ValidationFailed on the form field when the password breaks the rules."""
    from tenants.errors import ValidationFailed

    problem = password_problem(password or "")
    if problem:
        raise ValidationFailed(problem, field=field, details={"fields": {field: [problem]}})
