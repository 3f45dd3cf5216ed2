"""The cross-tenant attack matrix, generated from the application's own route map and Socket.IO
handler list: every route and every event is called as an anonymous visitor, as a resident of
tenant A, as each staff role of tenant A (admins signed in with TOTP) and with A's API token,
with ids belonging to victim tenant B. Each call must be refused (a redirect to sign-in, 403, 404,
401 from the API, a "link not valid" answer for an emailed link, or an acknowledgement with
ok: false) without showing any of B's private data (downloads included: PDF text, ZIP members),
and B's rows must not change.

URL variables are filled by name: `room_id` → B's rooms, `question_id` → B's questions, and any
other `<thing_id>` → B's rows in table `things`, found in the database; FILL names the others
(slugs, codes). A variable that cannot be filled fails the matrix, so a new route is never
silently left out: give the victim rows for it (build_victim, tests/support/estate.py) or list it
in FILL/EXPAND (and a new public page in PUBLIC_TENANT_ENDPOINTS / PUBLIC_PLATFORM_ENDPOINTS).
Emailed-link tokens (CREDENTIALS) are B's on A's site and A's on B's site: both must be refused.
New Socket.IO handlers need a payload schema in EVENT_SCHEMAS for the same reason."""
from __future__ import annotations

import itertools
import json
import re
import uuid
from dataclasses import dataclass, field

import pytest

from services.api import tokens as api_tokens
from services.web.extensions import socketio
from services.live import actions, commands
from services.web.live import events as _registered  # noqa: F401  (registers the handlers we enumerate)
from services.web.live import captions as _captions  # noqa: F401  (and the live audio's)
from services.captions.schemas import AudioChunkSchema
from services.live.schemas import ResumeSchema
from services.rooms import actions as room_actions
from services.lib.validation import load
from tenants import auth
from tenants.db import tenant_scope
from tenants.errors import ValidationFailed
from tests.support import aio
from tests.support.live_client import LiveClient, close_all
from tests.perf.loadgen import SioClient, SioError
from tests.support.console import console, enable_totp, sign_in
from tests.support.documents import readable
from tests.support.estate import email_links, furnish, paying_tenant
from tests.support.nasty import all_schemas, example_value
from tests.support.ratelimits import forget_rate_limits
from tests.support.rows import fingerprint, tenant_tables
from tests.support.worlds import PASSWORD, build_world, make_staff, make_tenant

PUBLIC_TENANT_ENDPOINTS = {  # pages anyone may open on a tenant's own site
    "residents.home", "residents.room", "residents.join", "residents.ask", "console.sign_in", "console.sign_out",
    "console.sign_in_code", "console.forgot_password", "console.sso_start", "console.sso_callback",
    "residents.accessibility", "residents.feed_atom", "residents.feed_ical", "residents.feed_rss",
    "residents.room_ical", "residents.embed", "residents.embed_join", "residents.embed_ask", "residents.poster",
    "residents.qr_png", "residents.qr_svg", "residents.screen", "residents.transcript", "residents.transcript_file",
    "residents.media_file", "residents.media_captions", "residents.register", "api.openapi",
    "engagement_residents.neighbourhoods_page", "engagement_residents.neighbourhood",
    "engagement_residents.neighbourhood_calendar", "engagement_residents.your_data",
    "branding.stylesheet", "branding.logo",
    # an emailed link: the token is the authority (the matrix replays A's links on B's site, and B's on A's)
    "residents.confirm_registration", "residents.unsubscribe", "engagement_residents.verify",
    "console.accept_invitation", "console.reset_password", "console.panelist_link",
}
PUBLIC_PLATFORM_ENDPOINTS = {"static", "health.healthz", "health.readyz", "vendor.vendor_file", "share.short_link",
                             "signup.start", "signup.verify", "api_platform.platform_openapi", "platform.sign_in",
                             # served to whoever reaches the process (the proxy hides it, docs/operations.md);
                             # its labels are tenant ids and route templates, never text: the leak check applies
                             "metrics.metrics"}
CREDENTIALS = {"token"}   # URL variables that are themselves the authority: never valid on another tenant's site
FILL = {  # URL variables that name one of B's objects by something other than its id
    ("engagement_residents.neighbourhood", "slug"): "neighbourhood_slug",
    ("engagement_residents.neighbourhood_calendar", "slug"): "neighbourhood_slug",
    ("signup.verify", "slug"): "tenant_slug",
    ("share.short_link", "code"): "short_code",
    ("branding.logo", "sha"): "logo_sha",
}
EXPAND = {  # variables that name an action rather than an object: every value is tried
    ("console.command", "name"): sorted(commands.STAFF_COMMANDS),
    ("vendor.vendor_file", "name"): ["socket.io.min.js"],
    ("static", "filename"): ["css/townhall.css"],
    ("console.invoice_file", "fmt"): ["pdf", "csv"],
    ("platform.invoice_file", "fmt"): ["pdf", "csv"],
    ("engagement_console.theme_report", "fmt"): ["html", "csv", "pdf"],
    ("transcripts_console.export", "fmt"): ["csv", "json"],
    ("residents.transcript_file", "fmt"): ["txt", "pdf"],
}
EVENT_SCHEMAS = {**{n: c.schema for n, c in {**commands.RESIDENT_COMMANDS, **commands.STAFF_COMMANDS}.items()},
                 "resume": ResumeSchema, "caption_audio": AudioChunkSchema}
SOCKET_LIFECYCLE = {"connect", "disconnect", "*"}
SIGN_IN = "/console/sign-in"
PLATFORM_SIGN_IN = "/platform/sign-in"


# --- the victim ---------------------------------------------------------------------------------

@dataclass
class Victim:
    world: object
    ids: dict[str, list[str]]   # variable or field name -> B's ids to try
    links: dict[str, str]       # purpose -> B's emailed link token
    replays: dict[str, str] = field(default_factory=dict)   # B's link token -> A's link of the same purpose

    def replay_links_of(self, attacker_world) -> None:
        """A's own emailed links, to replay on B's site in place of B's."""
        theirs, _ = email_links(attacker_world, "attacker")
        self.replays = {self.links[purpose]: token for purpose, token in theirs.items()}


def build_victim(owner_db) -> Victim:
    """Tenant B with something in every table: public text says 'victimpub', private 'victimpriv'."""
    tenant = make_tenant(state="trial", name="victimpub Constabulary")
    paying_tenant(tenant, "victimpriv")   # invoices need a plan that charges
    world = build_world(tenant=tenant, title="victimpub chat", description="victimpub description")
    extra = make_staff(tenant, "moderator", display_name="victimpriv moderator",
                       email=f"victimpriv-{uuid.uuid4().hex[:6]}@b.police.uk")
    with tenant_scope(tenant.id) as tx:
        auth.sign_in(tx, email=extra.email, password=PASSWORD, ip="198.51.100.9")
        draft = room_actions.create_room(tx, world.admin, {
            "title": "victimpriv draft chat", "starts_at": world.room["starts_at"], "ends_at": world.room["ends_at"]})
        room_actions.set_room_staff(tx, world.admin, world.room["id"], {"moderator": [extra.id]})
        tx.execute("insert into tenant_domains (tenant_id, domain, verified_at) values (%s, %s, now())",
                   [tenant.id, f"victimpriv-{uuid.uuid4().hex[:6]}.example"])
    author, quiet = world.join("victimpub author"), world.join("victimpriv quiet")
    with tenant_scope(tenant.id) as tx:
        published = actions.submit_question(tx, author, "victimpub published question")
        actions.approve_question(tx, world.moderator, published["id"])
        actions.answer_question(tx, world.host, published["id"], "victimpub answer")
        pending = actions.submit_question(tx, quiet, "victimpriv pending question")
        rejected = actions.submit_question(tx, quiet, "victimpriv rejected question")
        actions.reject_question(tx, world.moderator, rejected["id"], "off_topic")
        actions.reply_privately(tx, world.moderator, pending["id"], "victimpriv private reply")
        actions.post_announcement(tx, world.host, world.room["id"], "victimpub announcement")
        poll = actions.open_poll(tx, world.host, world.room["id"], "victimpub poll", "single", ["victimpub yes",
                                                                                                "victimpub no"], "live")
        actions.vote_in_poll(tx, author, poll["id"], [1])
        actions.upvote_question(tx, quiet, published["id"])
    estate = furnish(world, "victimpub", "victimpriv", question=published, poll=poll, participant=quiet)
    ids = {"room_id": [world.room["id"], draft["id"], *estate.ids.pop("closed_room_id")],
           "question_id": [published["id"], pending["id"]], "poll_id": [poll["id"]], "assignee_id": [extra.id],
           "participant_id": [author["id"]], "staff_id": [extra.id], **estate.ids, "token": list(estate.links.values())}
    empty = [t for t in tenant_tables(owner_db)
             if not owner_db.execute(f"select 1 from {t} where tenant_id = %s limit 1", [tenant.id]).fetchone()]
    assert not empty, f"give the victim a row in {empty} (build_victim), so the matrix can aim at it"
    return Victim(world, {k: [str(v) for v in vs] for k, vs in ids.items()}, estate.links)


def victim_ids(owner_db, victim: Victim, name: str) -> list[str]:
    """B's ids for a variable or field called `name` (`thing_id` → rows of table `things`); [] if none."""
    if name not in victim.ids:
        victim.ids[name] = []
        stem = name[:-3] if name.endswith("_id") else None
        tables = tenant_tables(owner_db) if stem else []
        for table in (f"{stem}s", stem, f"{stem}es"):
            if table in tables:
                rows = owner_db.execute(f"select id::text from {table} where tenant_id = %s limit 2",
                                        [victim.world.tenant.id]).fetchall()
                victim.ids[name] = [r[0] for r in rows]
                break
    return victim.ids[name]


def leaks(text: str, allow_public: bool = False) -> list[str]:
    found = set(re.findall(r"victimp(?:riv|ub)[\w ]*", text.lower()))
    return sorted(f for f in found if not (allow_public and f.startswith("victimpub")))


# --- request bodies built from the schemas ------------------------------------------------------

def body_from(schemas, owner_db, victim: Victim) -> dict:
    """One value per field name: the victim's id where the name is an id, else an example that every
    schema with a field of that name accepts (so each route's own schema finds its body valid)."""
    fields_by_key: dict[str, list] = {}
    for schema in schemas:
        for name, field in schema().fields.items():
            fields_by_key.setdefault(field.data_key or name, []).append(field)
    body: dict = {}
    for key, fields in fields_by_key.items():
        ids = victim_ids(owner_db, victim, key)
        if ids:
            body[key] = ids[0]
            continue
        examples = [_example(field, key) for field in fields]
        body[key] = next((value for value in examples if all(_accepts(f, value) for f in fields)), examples[0])
    return body


def _example(field, key: str):
    value = example_value(field, key, {})
    return "\n".join(map(str, value)) if isinstance(value, list) else value


def _accepts(field, value) -> bool:
    try:
        field.deserialize(value)
        return True
    except Exception:   # marshmallow's ValidationError, or a type error from an odd pairing
        return False


def check_valid(schema, body: dict) -> None:
    try:
        load(schema, body)
    except ValidationFailed as exc:  # the matrix must reach the isolation checks, not stop at validation
        raise AssertionError(f"the matrix's example payload for {schema.__name__} is invalid: {exc.message}")


# --- attackers ------------------------------------------------------------------------------------

@dataclass
class Attacker:
    client: object
    session: str | None = None            # A's staff session cookie, replayed on B's site
    headers: dict | None = None           # A's API token
    credentialed: bool = False            # may use A's own console or API


def attackers(app, attacker_world) -> dict[str, Attacker]:
    slug = attacker_world.tenant.slug
    resident = app.test_client()
    resident.post(f"/t/{slug}/rooms/{attacker_world.room['id']}/join", data={"display_name": "Mallory"})
    out = {"anonymous": Attacker(app.test_client()), "resident": Attacker(resident)}
    for role in auth.ROLES:
        staff = make_staff(attacker_world.tenant, role)
        client = app.test_client()
        secret = enable_totp(attacker_world.tenant, staff) if role == "admin" else None   # admins must use TOTP
        signed_in = sign_in(client, attacker_world.tenant, staff.email, secret=secret)
        assert signed_in.status_code == 302 and signed_in.location.endswith(console(attacker_world.tenant)), \
            signed_in.location
        out[f"staff:{role}"] = Attacker(client, client.get_cookie("th_staff", path=f"/t/{slug}/").value,
                                        credentialed=True)
    with tenant_scope(attacker_world.tenant.id) as tx:
        _, api_token = api_tokens.create_token(tx, attacker_world.admin, "Mallory's token", list(api_tokens.SCOPES))
    out["api"] = Attacker(app.test_client(), headers={"Authorization": f"Bearer {api_token}"}, credentialed=True)
    return out


def refused(rule, response) -> bool:
    if response.status_code in (403, 404):
        return True
    if rule.endpoint.startswith("api.") and response.status_code == 401:
        return True   # the API's answer to a missing token, or another tenant's: JSON, no redirect to a form
    if CREDENTIALS & rule.arguments and response.status_code in (400, 410, 422):
        return True   # an emailed link that is not this tenant's: "this link is not valid or has expired"
    sign_in_page = PLATFORM_SIGN_IN if rule.rule.startswith("/platform/") else SIGN_IN
    return response.status_code in (301, 302, 303, 307, 308) and sign_in_page in response.headers.get("Location", "")


def url_choices(rule, owner_db, victim: Victim) -> dict[str, list[str]]:
    return {var: EXPAND.get((rule.endpoint, var)) or victim_ids(owner_db, victim, FILL.get((rule.endpoint, var), var))
            for var in sorted(rule.arguments - {"tenant"})}


def unmapped_variables(rules, owner_db, victim: Victim) -> list[str]:
    return [f"{rule.rule} <{var}>" for rule in rules
            for var, values in url_choices(rule, owner_db, victim).items() if not values]


def request_body(rule, values: dict, owner_db, victim: Victim) -> dict:
    if rule.endpoint != "console.command":
        return body_from(all_schemas(), owner_db, victim)
    schema = commands.STAFF_COMMANDS[values["name"]].schema
    body = body_from([schema], owner_db, victim)
    check_valid(schema, body)
    return body


def sent_body(rule, method: str, body: dict) -> dict:
    """Test-client arguments for the body: JSON for the API, a form elsewhere, none with GET."""
    if method == "GET":
        return {}
    return {"json": body} if rule.endpoint.startswith("api.") else {"data": body}


def on_site(values: dict, site: str | None, victim: Victim) -> dict:
    """The URL values to send to `site`: on B's own site a link token is A's (replayed), not B's."""
    if site != victim.world.tenant.slug:
        return values
    return {k: victim.replays[v] if k in CREDENTIALS else v for k, v in values.items()}


def http_calls(app, owner_db, victim: Victim, attacker_world):
    """Every (rule, method, filled URL, body) the route map has, for both sites (A's and B's)."""
    rules = sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint.endswith("sign_out"), r.rule))
    unmapped = unmapped_variables(rules, owner_db, victim)
    assert not unmapped, ("the attack matrix cannot fill these URL variables; map them in EXPAND or give the "
                          "victim rows for them:\n" + "\n".join(unmapped))
    adapter = app.url_map.bind("localhost")
    for rule in rules:
        choices = url_choices(rule, owner_db, victim)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for combo in itertools.product(*choices.values()):
                values = dict(zip(choices, combo))
                names = [n for n in values if (rule.endpoint, n) not in EXPAND]
                body = request_body(rule, values, owner_db, victim)
                sites = [attacker_world.tenant.slug, victim.world.tenant.slug] if "tenant" in rule.arguments else [None]
                for site in sites:
                    url = adapter.build(rule.endpoint, {**on_site(values, site, victim),
                                                        **({"tenant": site} if site else {})})
                    yield rule, method, site, url, body, bool(names)


def test_every_route_refuses_other_tenants(app, app_ctx, owner_db, stack):
    victim = build_victim(owner_db)
    attacker_world = build_world()
    victim.replay_links_of(attacker_world)
    who = attackers(app, attacker_world)
    victim_slug = victim.world.tenant.slug
    failures, covered = [], set()
    state = fingerprint(owner_db, victim.world.tenant.id)
    for rule, method, site, url, body, aims_at_objects in http_calls(app, owner_db, victim, attacker_world):
        covered.add((rule.endpoint, method))
        on_victim_site = site == victim_slug
        public = rule.endpoint in PUBLIC_TENANT_ENDPOINTS | PUBLIC_PLATFORM_ENDPOINTS
        replayed_link = on_victim_site and bool(CREDENTIALS & rule.arguments)   # A's link on B's site
        for name, attacker in who.items():
            if attacker.session and on_victim_site:  # replay A's staff session on B's site
                attacker.client.set_cookie("th_staff", attacker.session, path=f"/t/{victim_slug}/")
            forget_rate_limits(stack.redis_url)   # a limit would answer before the isolation is tested
            response = attacker.client.open(url, method=method, headers=attacker.headers,
                                            **sent_body(rule, method, body))
            text = readable(response.get_data()) + response.headers.get("Location", "")
            where = f"{method} {url} as {name}"
            if response.status_code >= 500:
                failures.append(f"{where}: {response.status_code}")
            if leaks(text, allow_public=on_victim_site and public):
                failures.append(f"{where}: shows {leaks(text, on_victim_site and public)}")
            if site is None or on_victim_site:  # platform pages, or B's own site: only public pages may answer
                must_refuse = not public or replayed_link
            else:  # A's site: B's ids are never found; A's console and API are for A's staff and token only
                must_refuse = aims_at_objects or (not public and not attacker.credentialed)
            if must_refuse and not refused(rule, response):
                failures.append(f"{where}: not refused ({response.status_code} {response.headers.get('Location')})")
            before, state = state, fingerprint(owner_db, victim.world.tenant.id)
            if state != before and not (on_victim_site and public and not replayed_link):
                failures.append(f"{where}: changed the victim's rows")
    every = {(r.endpoint, m) for r in app.url_map.iter_rules() for m in r.methods - {"HEAD", "OPTIONS"}}
    assert covered == every
    assert not failures, "\n".join(failures)


# --- Socket.IO ------------------------------------------------------------------------------------

def socket_events() -> list[str]:
    names = sorted({name for name, _, namespace in socketio.handlers if namespace in (None, "/")} - SOCKET_LIFECYCLE)
    unmapped = [n for n in names if n not in EVENT_SCHEMAS]
    assert not unmapped, f"add a payload schema for these Socket.IO events to EVENT_SCHEMAS: {unmapped}"
    return names


def event_payloads(name: str, owner_db, victim: Victim):
    schema = EVENT_SCHEMAS[name]
    id_fields = [k for k in (f.data_key or n for n, f in schema().fields.items()) if victim_ids(owner_db, victim, k)]
    if name == "resume":
        for stream in ("room", "staff"):
            yield {"stream": stream, "after": 0}, False
        return
    if name == "caption_audio":   # binary audio, always for the sender's own room (named by its token)
        yield {"audio": b"\x00\x00" * 800}, False
        yield {"end": True}, False
        return
    base = body_from([schema], owner_db, victim)
    if "option_ids" in base:
        base["option_ids"] = [1]
    for combo in itertools.product(*(victim_ids(owner_db, victim, k) for k in id_fields)):
        payload = {**base, **dict(zip(id_fields, combo))}
        check_valid(schema, payload)
        yield payload, bool(id_fields)


def test_every_event_refuses_other_tenants(app_ctx, owner_db, live_pair):
    victim = build_victim(owner_db)
    attacker_world = build_world()
    url = live_pair[0].url
    tokens = {"viewer": attacker_world.token("viewer"),
              "resident": attacker_world.resident_token(attacker_world.join("Mallory"))}
    for role in auth.ROLES:
        tokens[f"staff:{role}"] = attacker_world.staff_token(make_staff(attacker_world.tenant, role))
    conns = {name: LiveClient(url, token, last_seq=0, staff_last_seq=0 if name.startswith("staff") else None)
             .connect() for name, token in tokens.items()}
    failures, covered = [], set()
    state = fingerprint(owner_db, victim.world.tenant.id)
    try:
        for event in socket_events():
            for payload, aims_at_objects in event_payloads(event, owner_db, victim):
                covered.add(event)
                for name, conn in conns.items():
                    ack = conn.call_patiently(event, payload)
                    where = f"{event} {json.dumps(payload, default=repr)} as {name}"
                    if not isinstance(ack, dict) or not isinstance(ack.get("ok"), bool):
                        failures.append(f"{where}: bad acknowledgement {ack!r}")
                        continue
                    if aims_at_objects and ack["ok"]:
                        failures.append(f"{where}: accepted")
                    if leaks(json.dumps(ack)):
                        failures.append(f"{where}: shows {leaks(json.dumps(ack))}")
                    before, state = state, fingerprint(owner_db, victim.world.tenant.id)
                    if state != before:
                        failures.append(f"{where}: changed the victim's rows")
        for name, conn in conns.items():
            received = json.dumps([conn.room_events, conn.staff_events, conn.private, conn.my_questions])
            if leaks(received):
                failures.append(f"{name} received the victim's events: {leaks(received)}")
    finally:
        close_all(list(conns.values()), "disconnect")
    assert covered == set(socket_events())
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("auth", [None, {}, {"token": ""}, {"token": "not-a-token"}, {"token": "x" * 600},
                                  {"token": ["a list"]}, "a string"])
def test_a_connection_without_a_valid_token_is_refused(live_pair, auth):
    async def connect():
        client = SioClient(live_pair[0].url, auth=auth)
        try:
            await client.connect(timeout=5)
        finally:
            await client.close()

    with pytest.raises(SioError, match="connect refused"):
        aio.run(connect())
