"""JSON endpoints of API v1. Thin: authenticate the bearer token in the tenant's scope, parse the
query with marshmallow, read, and dump through the same schemas the OpenAPI document describes."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, g, jsonify, request, url_for

from services.lib import ratelimit
from services.api import tokens
from services.web.api.openapi import build_spec
from services.web.api.schemas import (QuestionListSchema, RegistrationAcceptedSchema, RegistrationRequestSchema,
                                  RoomListSchema, RoomQuerySchema, RoomSchema, TranscriptSchema)
from services.web.extensions import csrf
from services.lib.i18n import offered_language, tenant_languages
from services.live.queries import public_snapshot
from services.web.request_info import client_ip
from services.residents import registrations
from services.rooms.lifecycle import PUBLIC_STATES
from services.rooms.queries import get_public_room
from services.web.tenant_routes import tenant_blueprint
from services.lib.validation import load
from tenants.db import tenant_scope
from tenants.errors import DomainError, Forbidden, NotFound

bp = tenant_blueprint("api", __name__, "/api/v1")
REQUESTS_PER_MINUTE = 600        # per token: ten a second is plenty for a force website or a CMS
BAD_TOKENS_PER_NETWORK = 100     # wrong tokens per network an hour
csrf.exempt(bp)
platform_bp = Blueprint("api_platform", __name__)


@platform_bp.get("/api/v1/openapi.json")
def platform_openapi():
    """The document for every tenant (on a tenant's own host this path serves that tenant's copy)."""
    return jsonify(build_spec(server="/t/{tenant}/api/v1"))


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


def token_required(scope: str):
    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            raw = header[7:].strip() if header[:7].lower() == "bearer " else None
            token = _authenticate(raw)
            if scope not in token["scopes"]:
                raise Forbidden(f"This token does not have the {scope} scope.")
            if g.tenant.is_suspended:
                raise Forbidden("This service is paused.")
            g.api_token = token
            return view(*args, **kwargs)
        return wrapper
    return decorate


def _authenticate(raw: str | None) -> dict:
    """The token's row, within its request budget. Wrong tokens are counted per network and refused
    in bulk before the database is asked (guessing is hopeless anyway: 256 random bits)."""
    guesses = f"api-bad-token:{ratelimit.network_key(client_ip())}"
    if raw:
        ratelimit.check(guesses, limit=BAD_TOKENS_PER_NETWORK, window_seconds=3600,
                        message="Too many requests with a wrong API token from your network. Try again later.")
    with tenant_scope(g.tenant.id) as tx:
        token = tokens.authenticate(tx, raw)
    if token is None:
        if raw:
            ratelimit.count(guesses, window_seconds=3600)
        raise Unauthorized("Send a valid API token: Authorization: Bearer <token>.")
    ratelimit.hit(f"api:{token['id']}", limit=REQUESTS_PER_MINUTE, window_seconds=60,
                  message=f"This token has made more than {REQUESTS_PER_MINUTE} requests in a minute. "
                          "Wait for the time in Retry-After.")
    return token


@bp.after_request
def no_store(response):
    response.headers["Cache-Control"] = "no-store"
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="townhall"'
    return response


def room_view(room: dict) -> dict:
    return {**room, "links": {
        "page": url_for("residents.room", room_id=room["id"], _external=True),
        "embed": url_for("residents.embed", room_id=room["id"], _external=True),
        "short": url_for("share.short_link", code=room["short_code"], _external=True),
        "calendar": url_for("residents.room_ical", room_id=room["id"], _external=True)}}


@bp.get("/openapi.json")
def openapi():
    """This tenant's copy of the document: its servers entry points here."""
    return jsonify(build_spec(server=url_for(".openapi", _external=True).rsplit("/", 1)[0],
                              languages=tuple(tenant_languages())))


@bp.get("/rooms")
@token_required("read")
def rooms():
    query = load(RoomQuerySchema, request.args)
    states = [query["state"]] if query.get("state") else list(PUBLIC_STATES)
    with tenant_scope(g.tenant.id) as tx:
        rows = tx.all("select * from rooms where state = any(%s) order by starts_at desc, id limit %s offset %s",
                      [states, query["limit"], query["offset"]])
    return jsonify(RoomListSchema().dump({"rooms": [room_view(r) for r in rows], "limit": query["limit"],
                                          "offset": query["offset"]}))


@bp.get("/rooms/<room_id>")
@token_required("read")
def room(room_id):
    with tenant_scope(g.tenant.id) as tx:
        row = get_public_room(tx, room_id)
    return jsonify(RoomSchema().dump(room_view(row)))


@bp.get("/rooms/<room_id>/questions")
@token_required("read")
def questions(room_id):
    """Published questions and their answers only: pending and rejected ones never leave the console."""
    with tenant_scope(g.tenant.id) as tx:
        row = get_public_room(tx, room_id)
        snapshot = public_snapshot(tx, row["id"])
    return jsonify(QuestionListSchema().dump({"room_id": row["id"], "questions": snapshot["questions"]}))


@bp.get("/rooms/<room_id>/transcript")
@token_required("read")
def transcript(room_id):
    with tenant_scope(g.tenant.id) as tx:
        row = get_public_room(tx, room_id)
        built = None
        if tx.value("select to_regclass('transcripts') is not null") is True:
            built = tx.one("select room_id, built_at, text from transcripts where room_id = %s", [row["id"]])
    if built is None:
        raise NotFound("No transcript has been published for this chat yet.")
    page = url_for("residents.room", room_id=row["id"], _external=True) + "/transcript"
    return jsonify(TranscriptSchema().dump({**built, "page": page}))


@bp.post("/rooms/<room_id>/registrations")
@token_required("write")
def register(room_id):
    """A force's own sign-up form registering a resident for reminders: the resident still confirms."""
    data = load(RegistrationRequestSchema, request.get_json(silent=True))
    language = offered_language(data["language"])
    with tenant_scope(g.tenant.id) as tx:
        row = registrations.register(tx, room_id, data["email"], language=language)
    body = RegistrationAcceptedSchema().dump({"room_id": row["room_id"], "status": "pending_confirmation"})
    return jsonify(body), 202
