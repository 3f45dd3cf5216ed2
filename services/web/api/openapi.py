"""The OpenAPI 3.1 document of API v1, generated from the marshmallow schemas with apispec."""
from __future__ import annotations

from functools import lru_cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from services.web.api.schemas import (ErrorSchema, QuestionListSchema, RegistrationAcceptedSchema, RegistrationRequestSchema,
                                  RoomListSchema, RoomQuerySchema, RoomSchema,
                                  TranscriptSchema)

ROOM_ID = {"name": "room_id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"},
           "description": "The room's id"}


def _errors(*codes: int) -> dict:
    """The listed error responses, and 429 (every operation is rate limited per token)."""
    codes = (*codes, 429)
    text = {400: "Bad request", 401: "No valid API token", 403: "The token lacks the scope, or the service is paused",
            404: "Not found (another tenant's room is not found either)", 409: "The room no longer takes this",
            422: "Invalid input", 429: "Too many requests: wait and try again"}
    return {str(c): {"description": text[c], "content": {"application/json": {"schema": "Error"}}} for c in codes}


def _ok(schema: str, description: str) -> dict:
    return {"200": {"description": description, "content": {"application/json": {"schema": schema}}}}


@lru_cache(maxsize=64)
def _spec(server: str, languages: tuple[str, ...]) -> dict:
    spec = APISpec(
        title="Townhall API", version="1.0.0", openapi_version="3.1.0", plugins=[MarshmallowPlugin()],
        info={"description": "Rooms, published questions and answers, and transcripts of one tenant's webchats. "
                             "Authenticate with a tenant API token: `Authorization: Bearer <token>`."},
        servers=[{"url": server, **({"variables": {"tenant": {"default": "demo", "description": "Your tenant's address"}}}
                                    if "{tenant}" in server else {})}],
        security=[{"bearerAuth": []}],
    )
    spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    for name, schema in (("Room", RoomSchema), ("RoomList", RoomListSchema), ("QuestionList", QuestionListSchema),
                         ("Transcript", TranscriptSchema), ("Error", ErrorSchema),
                         ("RegistrationRequest", RegistrationRequestSchema),
                         ("RegistrationAccepted", RegistrationAcceptedSchema)):
        spec.components.schema(name, schema=schema)
    spec.path("/rooms", operations={"get": {
        "operationId": "listRooms", "summary": "Public rooms, newest first", "tags": ["rooms"],
        "parameters": [{"in": "query", "schema": RoomQuerySchema}],
        "responses": {**_ok("RoomList", "The rooms"), **_errors(401, 403, 422)}}})
    spec.path("/rooms/{room_id}", operations={"get": {
        "operationId": "getRoom", "summary": "One public room", "tags": ["rooms"], "parameters": [ROOM_ID],
        "responses": {**_ok("Room", "The room"), **_errors(401, 403, 404)}}})
    spec.path("/rooms/{room_id}/questions", operations={"get": {
        "operationId": "listQuestions", "summary": "Published questions and their answers", "tags": ["questions"],
        "parameters": [ROOM_ID],
        "responses": {**_ok("QuestionList", "Published questions, in order"), **_errors(401, 403, 404)}}})
    spec.path("/rooms/{room_id}/transcript", operations={"get": {
        "operationId": "getTranscript", "summary": "The published transcript", "tags": ["transcripts"],
        "parameters": [ROOM_ID],
        "responses": {**_ok("Transcript", "The transcript"), **_errors(401, 403, 404)}}})
    spec.path("/rooms/{room_id}/registrations", operations={"post": {
        "operationId": "registerForReminders", "summary": "Register an email for a room's reminders (write scope)",
        "tags": ["registrations"], "parameters": [ROOM_ID],
        "requestBody": {"required": True, "content": {"application/json": {"schema": "RegistrationRequest"}}},
        "responses": {"202": {"description": "A confirmation link was sent (or the address was already registered)",
                              "content": {"application/json": {"schema": "RegistrationAccepted"}}},
                      **_errors(401, 403, 404, 409, 422)}}})
    document = spec.to_dict()
    # a tenant's own document offers only its languages (the API refuses the others)
    document["components"]["schemas"]["RegistrationRequest"]["properties"]["language"]["enum"] = [*languages, None]
    return document


def build_spec(server: str = "/api/v1", languages: tuple[str, ...] = ("en", "cy")) -> dict:
    return _spec(server, tuple(languages))
