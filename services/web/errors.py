"""Domain errors to HTTP responses: JSON for the API and XHR, a page for browsers. Never a 500 body with internals.

JSON keeps the English message (the API's contract); the page shows it in the reader's language,
looked up in the catalogue, so a message shared with the API is written once, in English."""
from __future__ import annotations

import logging
import re

from flask import g, jsonify, make_response, render_template, request
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from services.lib.i18n import N_
from services.lib.ratelimit import UNAVAILABLE
from tenants.errors import DomainError, ValidationFailed

log = logging.getLogger(__name__)


ERROR_PAGE_FLAG = "rendering_error_page"   # lets the page's branding fall back to the defaults
CSRF_EXPIRED = N_("This form has expired. Go back, reload the page and try again.")
# Our own words for every status, so no page shows Werkzeug's English description.
HTTP_MESSAGES = {400: N_("We could not read that request. Go back, reload the page and try again."),
                 401: N_("You cannot do that here."), 403: N_("You cannot do that here."),
                 404: N_("We could not find that page."), 405: N_("That action is not allowed here."),
                 410: N_("That page is no longer available."), 413: N_("That upload is too large."),
                 429: N_("Too many requests from your connection. Wait a moment and try again."),
                 503: UNAVAILABLE}
CLIENT_ERROR = N_("We could not do that. Go back and try again.")
INTERNAL = N_("Something went wrong on our side. Please try again.")


def wants_json() -> bool:
    api = request.path.startswith(("/api/", "/platform/api/")) or re.match(r"/t/[^/]+/api/", request.path) is not None
    return api or request.accept_mimetypes.best == "application/json"


def _page(status: int, message: str):
    message = gettext(message) if message else ""
    setattr(g, ERROR_PAGE_FLAG, True)
    try:
        return make_response(render_template("error.html", status=status, message=message))
    except Exception:  # e.g. a malformed Host header leaves no URL adapter, so the page cannot build its links
        return make_response(message, status, {"Content-Type": "text/plain; charset=utf-8"})


def _respond(status: int, body: dict, sentence: str | None = None):
    """`sentence`: what the page says, when not the JSON message (a domain error's, without the field name)."""
    if wants_json():
        response = jsonify(body)
    else:
        response = _page(status, sentence or body.get("message", ""))
    response.status_code = status
    if body.get("details", {}).get("retry_after"):
        response.headers["Retry-After"] = str(body["details"]["retry_after"])
    return response


def register_error_handlers(app) -> None:
    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        return _respond(exc.status, exc.as_dict(), exc.sentence)

    @app.errorhandler(ValidationError)
    def validation_error(exc: ValidationError):
        return domain_error(ValidationFailed.from_messages(exc.messages))

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return _respond(400, {"error": "csrf", "message": CSRF_EXPIRED})

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        fallback = CLIENT_ERROR if status < 500 else INTERNAL
        return _respond(status, {"error": exc.name.lower().replace(" ", "_"),
                                 "message": HTTP_MESSAGES.get(status, fallback)})

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error")
        return _respond(500, {"error": "internal", "message": INTERNAL})
