"""English and Welsh: the Welsh catalogue is complete, and switching a resident page to Welsh
changes every string on it that is not the tenant's or residents' own content."""
from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from playwright.sync_api import expect

from tests.browser.conftest import axe_check, wait_connected
from tests.support.i18n import text_nodes, untranslated

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "services" / "translations" / "cy" / "LC_MESSAGES" / "messages.po"
METHODS = [("services/templates/**.html", "jinja2"), ("services/templates/mail/**.txt", "jinja2"),
           ("services/**.py", "python"), ("tenants/**.py", "python"),
           ("workers/**.py", "python")]
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def source_messages() -> set:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), METHODS, keywords=KEYWORDS, options_map={}):
        found.add(message)
    return found


def test_every_translatable_string_has_a_welsh_translation():
    with CATALOGUE.open("rb") as f:
        welsh = read_po(f)
    problems = []
    for message in sorted(source_messages(), key=str):
        key = message if isinstance(message, str) else message[0]
        entry = welsh.get(key)
        strings = [] if entry is None else ([entry.string] if isinstance(entry.string, str) else list(entry.string))
        if entry is None or entry.fuzzy or not all(strings):
            problems.append(f"untranslated: {message!r}")
            continue
        wanted = sorted(PLACEHOLDER.findall(key))
        for text in strings:
            if sorted(PLACEHOLDER.findall(text)) != wanted:
                problems.append(f"placeholders differ: {key!r} -> {text!r}")
    assert not problems, f"{len(problems)} Welsh catalogue problem(s):\n" + "\n".join(problems)


def own_content(showcase) -> set[str]:
    """What the tenant, its staff and residents wrote: it stays in the language they wrote it in."""
    from tenants.db import tenant_scope

    with tenant_scope(showcase.tenant.id) as tx:
        rows = tx.all("select title, description, area, welcome_text, signposting_text, closing_text from rooms")
        texts = {v for r in rows for v in r.values() if v}
        texts |= {r["body"] for r in tx.all("select body from questions union all select body from answers"
                                              " union all select body from announcements")}
        texts |= {r["display_name"] for r in tx.all("select display_name from participants union all"
                                                       " select display_name from staff_users")}
        texts |= {r["title"] for r in tx.all("select title from staff_users") if r["title"]}
        for poll in tx.all("select prompt, options from polls"):
            texts |= {poll["prompt"], *(o["label"] for o in poll["options"])}
    return texts | {showcase.tenant.name, "Townhall", "English", "Cymraeg", "✔", "·", "–", ":", ","}


RESIDENT_PAGES = ["/", "/rooms/{scheduled}", "/rooms/{live}", "/rooms/{closed}", "/rooms/{live}/embed",
                  "/rooms/{live}/screen", "/accessibility", "/your-data", "/neighbourhoods"]


def test_switching_to_welsh_changes_every_resident_facing_string(app, showcase):
    # No app context held across requests: each request gets its own, as in production.
    client = app.test_client()
    base = f"/t/{showcase.tenant.slug}"
    client.post(f"{base}{showcase.path('/rooms/{live}/join')}", data={"display_name": "Robin"})
    with app.app_context():
        allowed = own_content(showcase)
    problems = {}
    for template in RESIDENT_PAGES:
        path = base + showcase.path(template)
        english = client.get(path + "?lang=en")
        welsh = client.get(path + "?lang=cy")
        assert english.status_code == welsh.status_code == 200, path
        assert '<html lang="cy">' in welsh.text and '<html lang="en-GB">' in english.text
        same = untranslated(text_nodes(english.text), text_nodes(welsh.text), allowed)
        if same:
            problems[template] = same
    assert not problems, "strings not translated into Welsh (page: strings):\n" + \
        "\n".join(f"{page}: {strings}" for page, strings in problems.items())


def test_welsh_title_is_shown_and_the_choice_is_remembered(app, showcase):
    client = app.test_client()
    path = f"/t/{showcase.tenant.slug}{showcase.path('/rooms/{scheduled}')}"
    welsh = client.get(path + "?lang=cy").text
    assert "Neighbourhood policing in Riverside (Cymraeg)" in welsh
    assert "Nid yw'r sgwrs hon ar gyfer rhoi gwybod am drosedd." in welsh.replace("&#39;", "'"), \
        "the default signposting is shown in Welsh"
    remembered = client.get(path)   # the cookie set by ?lang=cy
    assert '<html lang="cy">' in remembered.text
    assert "Neighbourhood policing in Riverside (Cymraeg)" in remembered.text
    assert '<html lang="en-GB">' in client.get(path + "?lang=en").text


def test_language_switch_only_where_the_tenant_offers_both(app):
    from tenants.provisioning import create_tenant

    with app.app_context():
        english_only = create_tenant(slug="english-only", name="English Only OPCC", state="active")
    client = app.test_client()
    page = client.get(f"/t/{english_only.slug}/", headers={"Accept-Language": "cy"})
    assert 'class="language-switch"' not in page.text
    assert '<html lang="en-GB">' in page.text
    page = client.get(f"/t/{english_only.slug}/?lang=cy")
    assert '<html lang="en-GB">' in page.text, "a language the tenant does not offer is not used"


def test_live_updates_arrive_in_welsh(site, showcase, page, app_ctx):
    """Strings the script writes (state, announcements for screen readers) come from the Welsh block."""
    from services.live import actions
    from tenants.db import tenant_scope

    page.goto(site.tenant_url(showcase.tenant, showcase.path("/rooms/{live}?lang=cy")))
    page.get_by_role("link", name="English").wait_for()
    wait_connected(page)
    with tenant_scope(showcase.tenant.id) as tx:
        actions.post_announcement(tx, showcase.host, showcase.rooms["live"]["id"], "Croeso i bawb.")
    expect(page.locator("[data-field='announcer']")).to_have_text("Cyhoeddiad: Croeso i bawb.")
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en-GB")
    expect(page.get_by_role("heading", name="Questions and answers")).to_be_visible()


def test_safety_guidance_reaches_a_welsh_resident_in_welsh(app_ctx, make_world, site):
    """Emergency wording in a question gets the 999 guidance at once, in the resident's language."""
    from services.live.tokens import LiveIdentity, make_token
    from tests.support.live_client import LiveClient

    world = make_world()
    resident = world.join("Gwen")
    token = make_token(LiveIdentity(world.tenant.id, world.room["id"], "resident", resident["id"], "cy"))
    client = LiveClient(site.live.url, token).connect()
    try:
        assert client.call("ask", {"body": "Someone is threatening to kill my neighbour, help me now"})["ok"]
        message = client.wait_for(lambda: [m for m in client.private if m["kind"] == "emergency"])[0]
        assert message["body"].startswith("Os ydych chi neu rywun arall mewn perygl nawr, ffoniwch 999.")
        assert "Relay UK" in message["body"] and "999 BSL" in message["body"]
        refused = client.call("ask", {"body": ""})
        assert not refused["ok"]
        slow = [client.call("ask", {"body": f"Cwestiwn {n}"}) for n in range(6)][-1]
        assert slow["message"] == "Rydych yn gofyn cwestiynau'n gyflym iawn. Arhoswch funud a rhowch gynnig arall arni."
    finally:
        client.disconnect()


def test_a_welsh_error_page_is_welsh_and_accessible(site, showcase, page):
    page.goto(site.tenant_url(showcase.tenant, "/no-such-page?lang=cy"))
    expect(page.locator("html")).to_have_attribute("lang", "cy")
    expect(page.get_by_role("heading", level=1)).to_have_text("Heb ddod o hyd i'r dudalen")
    expect(page.get_by_text("Nid oedd modd i ni ddod o hyd i'r dudalen honno.")).to_be_visible()
    axe_check(page)
