"""HTML form handling shared by the console and sign-up pages: run an action, turn a domain
error into messages keyed by form field (shown next to the field and in the error summary)."""
from __future__ import annotations

from typing import Callable, TypeVar

from flask import request
from marshmallow import EXCLUDE, Schema, fields, validate

from tenants.errors import DomainError, ValidationFailed

T = TypeVar("T")


def field_errors(exc: DomainError) -> dict[str, str]:
    fields = exc.details.get("fields", {}) if isinstance(exc, ValidationFailed) else {}
    errors = {f: (m[0] if isinstance(m, list) and m else str(m)) for f, m in fields.items()}
    return errors or {exc.field or "form": exc.message}


def attempt(action: Callable[[], T]) -> tuple[T | None, dict[str, str]]:
    """(result, {}) or (None, errors). Not-found stays an error page: no form can fix it."""
    try:
        return action(), {}
    except DomainError as exc:
        if exc.status == 404:
            raise
        return None, field_errors(exc)


class CodeSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    code = fields.String(required=True, validate=validate.Length(1, 20),
                         error_messages={"required": "Enter the 6-digit code from your authenticator app."})


def with_code(step, scope, token: str | None, ip: str | None):
    """Run a TOTP step (`step(tx, token=, code=, ip=)` returning an outcome with `.error`) with the
    posted code inside `scope()`; returns (outcome, errors) like `attempt`."""
    from services.validation import load

    def run():
        code = load(CodeSchema, request.form)["code"]
        with scope() as tx:
            outcome = step(tx, token=token, code=code, ip=ip)
        if outcome.error:
            raise outcome.error
        return outcome
    return attempt(run)
