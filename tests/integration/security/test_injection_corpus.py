"""Script and markup injection: a corpus of payloads submitted through every user-written field
that exists (room text, tags, display names, questions, answers, private replies, announcements,
poll prompts and options, staff names and titles, tenant name, the sign-in form) through the real
forms, then every page that shows them is checked: escaped, never raw. The JSON events carry
the raw text by design; the browser code must insert it with textContent (checked by scanning
the static JavaScript, so new scripts are covered too), and templates must not opt out of
escaping or carry inline script (CSP forbids it)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from markupsafe import escape

from tenants.db import tenant_scope
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
]
FIELDS = ["tenant", "staff", "stafftitle", "title", "description", "tag", "area", "welcome", "signposting", "closing",
          "name", "q1", "q2", "q3", "answer", "reply", "announcement", "prompt", "opt1", "opt2", "email"]


def marked(payload: str, field: str) -> str:
    if field == "name":  # display names: 2-40 characters, no format characters such as bidi overrides
        return re.sub("[\u200b-\u200f\u202a-\u202e]", "", payload)[:34] + "#name"
    return f"{payload}#{field}"


@pytest.mark.parametrize("payload", CORPUS, ids=range(len(CORPUS)))
def test_payload_is_escaped_on_every_surface(app, client, make_tenant, make_staff, payload):
    m = lambda field: marked(payload, field)  # noqa: E731
    tenant = make_tenant(name=m("tenant"))
    admin = make_staff(tenant, "admin", display_name=m("staff"), title=m("stafftitle"))
    base = f"/t/{tenant.slug}"
    signed_in = sign_in(client, tenant, admin.email, secret=enable_totp(tenant, admin))   # admins use TOTP
    assert signed_in.status_code == 302 and signed_in.location.endswith(console(tenant)), signed_in.location
    created = client.post(f"{base}/console/rooms/new", data={
        "title": m("title"), "description": m("description"), "tags": m("tag"), "area": m("area"),
        "welcome_text": m("welcome"), "signposting_text": m("signposting"), "closing_text": m("closing"),
        "starts_at": "2031-06-01T19:00", "ends_at": "2031-06-01T20:00", "slow_mode_seconds": "0",
        "mode": "moderated", "votes_enabled": "on"})
    assert created.status_code == 302, created.get_data(as_text=True)
    room_id = re.search(r"/rooms/([0-9a-f-]{36})/", created.headers["Location"]).group(1)
    room = f"{base}/rooms/{room_id}"

    def command(name, **form):
        response = client.post(f"{base}/console/rooms/{room_id}/commands/{name}", data=form)
        assert response.status_code == 302
        return response

    command("room_state", state="scheduled")
    command("room_state", state="live")
    resident = app.test_client()
    joined = resident.post(f"{room}/join", data={"display_name": m("name")}, follow_redirects=True)
    assert "flash-error" not in joined.get_data(as_text=True)
    for field in ("q1", "q2", "q3"):
        asked = resident.post(f"{room}/questions", data={"body": m(field)}, follow_redirects=True)
        assert "waiting for a moderator" in asked.get_data(as_text=True), re.findall(r"flash-error[^>]*>([^<]*)",
                                                                                 asked.get_data(as_text=True))
    with tenant_scope(tenant.id) as tx:
        ids = {r["body"]: str(r["id"]) for r in tx.all("select id, body from questions")}
    assert len(ids) == 3, "a question was refused"
    command("approve", question_id=ids[m("q1")], body="")
    command("answer", question_id=ids[m("q1")], body=m("answer"))
    command("reply", question_id=ids[m("q2")], body=m("reply"))
    command("announce", body=m("announcement"))
    command("poll_open", prompt=m("prompt"), options=f"{m('opt1')}\n{m('opt2')}", kind="single",
            results_visibility="live")
    pages = {
        "home": app.test_client().get(f"{base}/"),
        "room": app.test_client().get(room),
        "room as the author": resident.get(room),
        "dashboard": client.get(f"{base}/console/"),
        "edit": client.get(f"{base}/console/rooms/{room_id}/edit"),
        "moderate": client.get(f"{base}/console/rooms/{room_id}/moderate"),
        "host": client.get(f"{base}/console/rooms/{room_id}/host"),
        "sign-in error": app.test_client().post(f"{base}/console/sign-in",
                                                data={"email": m("email"), "password": "x"}),
    }
    html = {name: r.get_data(as_text=True) for name, r in pages.items()}
    for name, r in pages.items():
        assert r.status_code in (200, 400), f"{name}: {r.status_code}"
        if escape(payload) != payload:
            assert payload not in html[name], f"raw payload on the {name} page"
        assert "SSTISSTISSTI" not in html[name] and 'href="javascript:' not in html[name]
    everything = "\n".join(html.values())
    missing = [f for f in FIELDS if str(escape(m(f))) not in everything]
    assert not missing, f"never shown (so not proven escaped): {missing}"


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
