"""HTML form handling shared by the console and sign-up pages: run an action, turn a domain
error into messages keyed by form field (shown next to the field and in the error summary)."""
from __future__ import annotations

from typing import Callable, TypeVar

from flask import g, request
from marshmallow import EXCLUDE, Schema, fields, pre_load, validate

from services.lib.validation import load
from tenants.db import Tx, tenant_scope
from tenants.errors import DomainError, NotFound, PermissionDenied, ValidationFailed, first_text

T = TypeVar("T")


class FormSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    @pre_load
    def strip(self, data, **kwargs):
        if hasattr(data, "to_dict"):
            data = data.to_dict()
        if not isinstance(data, dict):
            return data
        return self.tidy({k: v.strip() if isinstance(v, str) and "password" not in k else v
                          for k, v in data.items()})

    def tidy(self, data: dict) -> dict:
        """Per-form clean-up after stripping (one pre_load hook: marshmallow does not order several)."""
        return data


class CodeSchema(FormSchema):
    code = fields.String(required=True, validate=validate.Length(1, 20),
                         error_messages={"required": "Enter the 6-digit code from your authenticator app."})


class FormErrors(dict):
    """Messages keyed by form field ("form" for the page as a whole), and the HTTP status the
    failure calls for (400 when there is nothing to report)."""

    def __init__(self, messages=(), status: int = 400):
        super().__init__(messages)
        self.status = status


def field_errors(exc: DomainError) -> FormErrors:
    fields = exc.details.get("fields", {}) if isinstance(exc, ValidationFailed) else {}
    errors = {f: first_text(m) for f, m in fields.items()}
    return FormErrors(errors or {exc.field or "form": exc.message}, exc.status)


def attempt(action: Callable[[], T]) -> tuple[T | None, FormErrors]:
    """(result, no errors) or (None, errors). Not found and not allowed stay error pages (404, 403): no
    form input can fix them."""
    try:
        return action(), FormErrors()
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        return None, field_errors(exc)


def submit(schema: type[Schema], data, action: Callable[[Tx, dict], T]) -> tuple[T | None, dict[str, str]]:
    """Validate `data` with `schema`, then run `action(tx, values)` in the current tenant's scope."""
    def run():
        values = load(schema, data)
        with tenant_scope(g.tenant.id) as tx:
            return action(tx, values)
    return attempt(run)


def with_code(step, scope, token: str | None, ip: str | None):
    """Run a TOTP step (`step(tx, token=, code=, ip=)` returning an outcome with `.error`) with the
    posted code inside `scope()`; returns (outcome, errors) like `attempt`."""
    def run():
        code = load(CodeSchema, request.form)["code"]
        with scope() as tx:
            outcome = step(tx, token=token, code=code, ip=ip)
        if outcome.error:
            raise outcome.error
        return outcome
    return attempt(run)
