"""Public API v1: tokens (hashed, scoped, per tenant), published content only, the OpenAPI document,
and schemathesis against that document (no 5xx, no response that breaks its schema)."""
from __future__ import annotations

import hashlib

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from services.api import tokens
from services.live import actions
from tenants.db import tenant_scope


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def make_token(world, scopes=("read",)) -> str:
    with tenant_scope(world.tenant.id) as tx:
        return tokens.create_token(tx, world.admin, "Force website", list(scopes))[1]


def test_tokens_are_hashed_scoped_and_revocable(app_ctx, make_world, client):
    world = make_world()
    token = make_token(world)
    with tenant_scope(world.tenant.id) as tx:
        row = tx.one("select * from api_tokens")
        assert bytes(row["token_hash"]) == hashlib.sha256(token.encode()).digest()
        assert token not in str(row.values()), "the token itself is never stored"
    url = f"/t/{world.tenant.slug}/api/v1/rooms"
    assert client.get(url).status_code == 401
    assert client.get(url).json["error"] == "unauthorized"
    assert client.get(url, headers=bearer(token + "x")).status_code == 401
    assert client.get(url, headers=bearer(token)).status_code == 200

    write_only = make_token(world, ("write",))
    denied = client.get(url, headers=bearer(write_only))
    assert denied.status_code == 403 and "read scope" in denied.json["message"]

    with tenant_scope(world.tenant.id) as tx:
        tokens.revoke_token(tx, world.admin, row["id"])
        assert tx.value("select count(*) from audit_log where action like 'api_token.%%'") == 3
    assert client.get(url, headers=bearer(token)).status_code == 401

    with tenant_scope(world.tenant.id) as tx, pytest.raises(Exception) as refused:
        tokens.create_token(tx, world.moderator, "Not allowed", ["read"])
    assert getattr(refused.value, "status", None) == 403


def test_only_published_questions_and_answers_leave_through_the_api(app_ctx, make_world, client):
    world = make_world()
    token = make_token(world)
    resident = world.join("Dee")
    with tenant_scope(world.tenant.id) as tx:
        published = actions.submit_question(tx, resident, "Published: more patrols?")
        actions.approve_question(tx, world.moderator, published["id"])
        actions.answer_question(tx, world.host, published["id"], "Yes, from May.")
        actions.submit_question(tx, resident, "Still pending: parking?")
        rejected = actions.submit_question(tx, resident, "Rejected: off topic")
        actions.reject_question(tx, world.moderator, rejected["id"], "off_topic")
    base = f"/t/{world.tenant.slug}/api/v1/rooms/{world.room['id']}"
    room = client.get(base, headers=bearer(token)).json
    assert room["title"] == "Ask the Commissioner" and room["state"] == "live"
    assert room["links"]["page"].endswith(f"/t/{world.tenant.slug}/rooms/{world.room['id']}")
    listed = client.get(f"{base}/questions", headers=bearer(token)).json["questions"]
    assert [q["body"] for q in listed] == ["Published: more patrols?"]
    assert listed[0]["answers"][0]["body"] == "Yes, from May." and listed[0]["display_name"] == "Dee"
    assert "network_hash" not in str(listed) and "pending" not in str(listed)
    missing = client.get(f"{base}/transcript", headers=bearer(token))
    assert missing.status_code == 404 and missing.json["error"] == "not_found"


def test_a_token_reaches_only_its_own_tenant(app_ctx, make_world, client):
    mine, theirs = make_world(), make_world()
    token = make_token(mine)
    assert client.get(f"/t/{theirs.tenant.slug}/api/v1/rooms", headers=bearer(token)).status_code == 401
    other_room = client.get(f"/t/{mine.tenant.slug}/api/v1/rooms/{theirs.room['id']}", headers=bearer(token))
    assert other_room.status_code == 404 and other_room.json["message"] == "We could not find that chat."
    listed = client.get(f"/t/{mine.tenant.slug}/api/v1/rooms", headers=bearer(token)).json["rooms"]
    assert [r["id"] for r in listed] == [str(mine.room["id"])]


def test_bad_query_is_a_clear_422(app_ctx, make_world, client):
    world = make_world()
    response = client.get(f"/t/{world.tenant.slug}/api/v1/rooms?limit=1000", headers=bearer(make_token(world)))
    assert response.status_code == 422 and response.json["field"] == "limit"


def test_openapi_documents_are_served(client):
    generic = client.get("/api/v1/openapi.json").json
    assert generic["openapi"].startswith("3.1") and generic["servers"][0]["url"] == "/t/{tenant}/api/v1"
    assert set(generic["paths"]) == {"/rooms", "/rooms/{room_id}", "/rooms/{room_id}/questions",
                                     "/rooms/{room_id}/transcript", "/rooms/{room_id}/registrations"}
    assert generic["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_api_conforms_to_its_openapi_document(app, make_world, app_ctx):
    """schemathesis generates requests for every operation in the document (random and real ids,
    with and without a token) and checks each response: no 5xx, status, content type and body
    as documented."""
    world = make_world()
    resident = world.join("Schema Tester")
    with tenant_scope(world.tenant.id) as tx:
        q = actions.submit_question(tx, resident, "A question for the schema")
        actions.approve_question(tx, world.moderator, q["id"])
        actions.answer_question(tx, world.host, q["id"], "An answer for the schema")
    token = make_token(world, scopes=("read", "write"))
    schema = schemathesis.openapi.from_wsgi(f"/t/{world.tenant.slug}/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 5

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            case.call_and_validate(headers=bearer(token))
            if "room_id" in (case.path_parameters or {}):
                case.path_parameters["room_id"] = str(world.room["id"])   # a real room, not only random ids
                case.call_and_validate(headers=bearer(token))
            case.call_and_validate()   # no token: a documented 401, never a 5xx
        check()


def test_an_admin_makes_and_revokes_tokens_in_the_console(app, make_world, app_ctx):
    import re

    from tests.support.console import enable_totp, sign_in as console_sign_in

    world = make_world()
    client = app.test_client()
    base = f"/t/{world.tenant.slug}"

    def as_staff(staff, method, path, **kwargs):
        client.delete_cookie("th_staff", path=f"{base}/")
        secret = enable_totp(world.tenant, staff) if staff.role == "admin" else None  # admins use TOTP
        with app.app_context():   # a fresh `g` per request, as in production
            assert console_sign_in(client, world.tenant, staff.email, secret=secret).status_code == 302
        with app.app_context():
            return getattr(client, method)(base + path, **kwargs)

    page = as_staff(world.admin, "post", "/console/api/tokens", data={"name": "Force website", "scopes": ["read"]})
    assert page.status_code == 200
    token = re.search(r'id="new-token" value="([^"]+)"', page.text).group(1)
    with app.app_context():
        assert client.get(f"{base}/api/v1/rooms", headers=bearer(token)).status_code == 200
    listing = as_staff(world.admin, "get", "/console/api/")
    assert token not in listing.text and token[:11] in listing.text, "only the prefix is shown again"
    with tenant_scope(world.tenant.id) as tx:
        token_id = tx.value("select id from api_tokens")
    assert as_staff(world.moderator, "get", "/console/api/").status_code == 403
    assert as_staff(world.admin, "post", f"/console/api/tokens/{token_id}/revoke").status_code == 302
    with app.app_context():
        assert client.get(f"{base}/api/v1/rooms", headers=bearer(token)).status_code == 401
    empty = as_staff(world.admin, "post", "/console/api/tokens", data={"name": "", "scopes": ["read"]})
    assert empty.status_code == 400 and "There is a problem" in empty.text


def test_a_published_transcript_is_served(app_ctx, make_world, client, stack):
    from tests.integration.test_feeds import mark_transcript_built

    world = make_world(state="closed")
    mark_transcript_built(stack, world.tenant.id, world.room["id"])
    response = client.get(f"/t/{world.tenant.slug}/api/v1/rooms/{world.room['id']}/transcript",
                          headers=bearer(make_token(world)))
    assert response.status_code == 200
    assert response.json["room_id"] == str(world.room["id"])
    assert response.json["page"].endswith(f"/rooms/{world.room['id']}/transcript")


def test_registrations_need_the_write_scope_and_stay_double_opt_in(app_ctx, make_world, client):
    world, other = make_world(state="scheduled"), make_world(state="scheduled")
    path = f"/t/{world.tenant.slug}/api/v1/rooms/{world.room['id']}/registrations"
    read_only, writer = make_token(world), make_token(world, scopes=("read", "write"))
    assert client.post(path, json={"email": "jo@example.org"}, headers=bearer(read_only)).status_code == 403
    bad = client.post(path, json={"email": "not an address"}, headers=bearer(writer))
    assert bad.status_code == 422 and bad.json["field"] == "email"
    accepted = client.post(path, json={"email": "Jo@Example.org"}, headers=bearer(writer))
    assert accepted.status_code == 202
    assert accepted.json == {"room_id": str(world.room["id"]), "status": "pending_confirmation"}
    again = client.post(path, json={"email": "jo@example.org"}, headers=bearer(writer))
    assert again.json == accepted.json          # the same answer: no way to learn who registered
    foreign = f"/t/{world.tenant.slug}/api/v1/rooms/{other.room['id']}/registrations"
    assert client.post(foreign, json={"email": "jo@example.org"}, headers=bearer(writer)).status_code == 404
    with tenant_scope(world.tenant.id) as tx:
        rows = tx.all("select email, status from registrations")
    assert rows == [{"email": "jo@example.org", "status": "pending"}]
    with tenant_scope(other.tenant.id) as tx:
        assert tx.value("select count(*) from registrations") == 0


def test_a_registration_records_the_residents_language_among_the_tenants_own(app, client):
    """`language` (optional) decides the language of every email; it must be one the tenant offers,
    and without it the chat's language is used. No app context is held across requests, so each
    request reads its own tenant's languages."""
    from tests.support.worlds import build_world, make_tenant

    with app.app_context():
        bilingual = build_world(state="scheduled", tenant=make_tenant(settings={"languages": ["en", "cy"]}),
                                title_cy="Gofyn i'r Comisiynydd")
        english_only = build_world(state="scheduled")
        tokens_ = {w.tenant.id: make_token(w, scopes=("write",)) for w in (bilingual, english_only)}

    def post(world, body):
        return client.post(f"/t/{world.tenant.slug}/api/v1/rooms/{world.room['id']}/registrations", json=body,
                           headers=bearer(tokens_[world.tenant.id]))

    refused = post(english_only, {"email": "cy@example.org", "language": "cy"})
    assert refused.status_code == 422 and refused.json["field"] == "language"
    assert "use one of this organisation's languages (en)" in refused.json["message"]
    unknown = post(bilingual, {"email": "fr@example.org", "language": "fr"})
    assert unknown.status_code == 422 and unknown.json["field"] == "language"
    assert post(bilingual, {"email": "cy@example.org", "language": "cy"}).status_code == 202
    assert post(bilingual, {"email": "default@example.org"}).status_code == 202
    with app.app_context():
        with tenant_scope(english_only.tenant.id) as tx:
            assert tx.value("select count(*) from registrations") == 0
        with tenant_scope(bilingual.tenant.id) as tx:
            assert {r["email"]: r["language"] for r in tx.all("select email, language from registrations")} == \
                {"cy@example.org": "cy", "default@example.org": "en"}
            subjects = {r["to_address"]: r["subject"] for r in tx.all("select to_address, subject from outbound_mail")}
    assert subjects == {"cy@example.org": "Cadarnhewch eich nodiadau atgoffa ar gyfer \"Gofyn i'r Comisiynydd\"",
                        "default@example.org": 'Confirm your reminders for "Ask the Commissioner"'}
    # registering again: a language given switches to it; none given keeps the one recorded
    assert post(bilingual, {"email": "default@example.org", "language": "cy"}).status_code == 202
    assert post(bilingual, {"email": "cy@example.org"}).status_code == 202
    with app.app_context(), tenant_scope(bilingual.tenant.id) as tx:
        assert {r["email"]: r["language"] for r in tx.all("select email, language from registrations")} == \
            {"cy@example.org": "cy", "default@example.org": "cy"}
