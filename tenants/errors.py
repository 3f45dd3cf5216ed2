"""Domain errors raised by actions; views, Socket.IO handlers and tasks map them in one place each."""
from __future__ import annotations


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details or {}

    def as_dict(self) -> dict:
        body = {"error": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        if self.details:
            body["details"] = self.details
        return body

    @property
    def sentence(self) -> str:
        """What a resident reads: the message without a field's name (which would be English)."""
        return self.message


class ValidationFailed(DomainError):
    status = 422
    code = "invalid"

    @classmethod
    def from_messages(cls, messages: dict | list | str) -> "ValidationFailed":
        if not isinstance(messages, dict):
            messages = {"_schema": messages}
        field, problems = next(iter(messages.items()))
        return cls(f"{field}: {first_text(problems)}", field=str(field), details={"fields": messages})

    @property
    def sentence(self) -> str:
        fields = self.details.get("fields")
        return first_text(next(iter(fields.values()))) if fields else self.message


def first_text(problems) -> str:
    """The first message, however deep marshmallow nested it (list items, nested schemas)."""
    while isinstance(problems, (dict, list)) and problems:
        problems = next(iter(problems.values())) if isinstance(problems, dict) else problems[0]
    return problems if isinstance(problems, str) and problems else "has invalid values"


class NotFound(DomainError):
    """Missing and someone else's look the same: no existence leaks."""
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class PermissionDenied(Forbidden):
    """The actor's role does not allow the action (roles.require): an error page, not a form message."""


class Conflict(DomainError):
    status = 409
    code = "conflict"


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int = 1):
        super().__init__(message, details={"retry_after": retry_after})
        self.retry_after = retry_after


class LimitReached(DomainError):
    """A plan limit: the message says which limit and how to raise it."""
    status = 403
    code = "limit_reached"


class Unavailable(DomainError):
    status = 503
    code = "unavailable"


class Gone(DomainError):
    """A link that has expired or was already used."""
    status = 410
    code = "gone"
