"""Browser tests: Debian's Chromium driven by Playwright (never a browser download), against a real
`web` process (gunicorn) and a real `live` process (Socket.IO on gevent) sharing the test
PostgreSQL and Redis. Pages keep their real Content-Security-Policy; any CSP violation or
uncaught script error on a page fails the test that opened it.

`axe_check(page)` injects axe-core from node_modules and fails listing every WCAG 2.2 AA violation.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tenants.auth import complete_mfa, sign_in
from tenants.db import tenant_scope
from tests.conftest import PASSWORD
from tests.support.console import enable_totp, totp_code
from tests.integration.conftest import make_world  # noqa: F401  (shared fixture)
from tests.support.servers import ROOT, start_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
TIMEOUT_MS = 10_000



def pytest_collection_modifyitems(items):
    for item in items:   # `-m "not browser"` leaves these out
        if "/tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)

# The machine may be shared with other test runs: allow for a slow moment rather than fail.
expect.set_options(timeout=15_000)


def _ensure_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    apt = shutil.which("apt-get")
    if apt:  # the Makefile's browser-deps target does the same in CI
        subprocess.run([apt, "install", "-y", "-qq", "chromium"], check=False, capture_output=True)
    if not Path(CHROMIUM).exists():
        raise RuntimeError("Debian's chromium is not installed: run `make browser-deps` (apt-get install chromium)")


@dataclass
class Site:
    web: object
    live: object

    @property
    def url(self) -> str:
        return self.web.url

    def tenant_url(self, tenant, path: str = "/") -> str:
        return f"{self.web.url}/t/{tenant.slug}{path}"


@pytest.fixture(scope="session")
def site(env, tmp_path_factory):
    """One live and one web process; the web pages point browsers at the live server."""
    logs = tmp_path_factory.mktemp("browser-logs")
    live = start_server("live", env, logs)
    web = start_server("web", env, logs, extra_env={"LIVE_URL": live.url, "BASE_DOMAIN": "localhost",
                                                    "WEB_CONCURRENCY": "1", "ACCESS_LOG": "0"})
    yield Site(web, live)
    web.stop()
    live.stop()


@pytest.fixture(scope="session")
def browser():
    _ensure_chromium()
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


class PageProblems:
    """Script errors and CSP violations a page reported; a page with any fails its test."""

    def __init__(self):
        self.items: list[str] = []

    def watch(self, page) -> None:
        page.on("pageerror", lambda exc: self.items.append(f"{page.url}: script error: {exc}"))
        page.on("console", lambda msg: self.items.append(f"{page.url}: {msg.text}")
                if msg.type == "error" and "Content Security Policy" in msg.text else None)


@pytest.fixture()
def new_page(browser):
    """Opens pages in fresh browser contexts (a context = one person's cookies)."""
    contexts = []
    problems = PageProblems()

    def make(**context_options):
        context = browser.new_context(**context_options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        problems.watch(page)
        return page

    yield make
    for context in contexts:
        context.close()
    assert not problems.items, "pages reported problems:\n" + "\n".join(problems.items)


@pytest.fixture()
def page(new_page):
    return new_page()


def staff_cookie(site: Site, tenant, staff) -> dict:
    """A signed-in staff session cookie for the console itself (the rows the sign-in form creates;
    admins must use TOTP, so an admin's session passes the code step too)."""
    secret = enable_totp(tenant, staff) if staff.role == "admin" else None
    with tenant_scope(tenant.id) as tx:
        outcome = sign_in(tx, email=staff.email, password=PASSWORD, ip="127.0.0.1")
        if secret:
            outcome = complete_mfa(tx, token=outcome.token, code=totp_code(secret), ip="127.0.0.1")
    assert outcome.token, outcome.error
    return {"name": "th_staff", "value": outcome.token, "domain": "127.0.0.1", "path": f"/t/{tenant.slug}/",
            "httpOnly": True, "sameSite": "Lax"}


def sign_in_page(new_page, site: Site, tenant, staff):
    """A page in its own context, signed in as `staff` through the real sign-in form."""
    page = new_page()
    sign_in_with_form(page, site.url, tenant, staff)
    return page


def sign_in_with_form(page, base_url: str, tenant, staff) -> None:
    """The real sign-in form; admins must use TOTP, so they get a secret and type the code."""
    secret = enable_totp(tenant, staff) if staff.role == "admin" else None
    page.goto(f"{base_url}/t/{tenant.slug}/console/sign-in")
    page.fill("#email", staff.email)
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")
    if secret:
        page.wait_for_url(re.compile(r".*/console/sign-in/code(\?.*)?$"))
        page.fill("#code", totp_code(secret))
        page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/console/$"))


def resident_in_room(new_page, site: Site, world, name: str):
    """A resident's page, joined to the world's room through the join form and connected."""
    page = new_page()
    page.goto(site.tenant_url(world.tenant, f"/rooms/{world.room['id']}"))
    page.get_by_label("Display name (optional)").fill(name)
    page.get_by_role("button", name="Join the chat").click()
    wait_connected(page)
    page.evaluate("window.__sameDocument = true")  # vanishes if the page reloads
    return page


def wait_connected(page, root="#live") -> None:
    """The page's Socket.IO connection is up (live.js marks the root)."""
    page.locator(f"{root}[data-connection='connected']").wait_for(state="attached")


def axe_check(page, *, exclude: list[str] | None = None) -> None:
    # Evaluated through the DevTools protocol rather than add_script_tag: an injected <script>
    # would need 'unsafe-inline', and these pages keep their real CSP so violations are caught.
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    result = page.evaluate(
        """async ([tags, exclude]) => {
             const context = exclude.length ? {exclude: exclude.map((s) => [s])} : document;
             const r = await axe.run(context, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
             return r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
                                              nodes: v.nodes.map((n) => n.target.join(' ') + ' :: ' + n.failureSummary)}));
           }""", [AXE_TAGS, exclude or []])
    assert not result, f"axe found {len(result)} WCAG 2.2 AA violation(s) on {page.url}:\n" + \
        json.dumps(result, indent=2)


@dataclass
class Showcase:
    """One tenant with a room in every public state and some of everything in the live one."""
    tenant: object
    admin: object
    host: object
    moderator: object
    rooms: dict          # state -> room row

    def path(self, template: str) -> str:
        return template.format(**{state: room["id"] for state, room in self.rooms.items()})


@pytest.fixture(scope="session")
def showcase(app) -> Showcase:
    from datetime import datetime, timedelta, timezone

    from services.assist.suggestions import suggest_for_room
    from services.engagement import themes
    from services.live import actions as live
    from services.residents.actions import join_room
    from services.rooms import actions as rooms
    from tenants.auth import create_staff
    from tenants.provisioning import create_tenant

    with app.app_context():
        tenant = create_tenant(slug="showcase", name="Demoshire Police and Crime Commissioner", state="active",
                               settings={"languages": ["en", "cy"], "embed_domains": ["http://127.0.0.1"]})
        with tenant_scope(tenant.id) as tx:
            def staff(role, name, title=""):
                return create_staff(tx, email=f"{role}@showcase.police.uk", display_name=name, role=role,
                                    password=PASSWORD, title=title)
            admin, host = staff("admin", "Alex Admin"), staff("host", "Pat Commissioner", "Police and Crime Commissioner")
            moderator = staff("moderator", "Morgan Moderator")
            now = datetime.now(timezone.utc).replace(microsecond=0)
            made = {}
            for state, start, title in (("scheduled", now + timedelta(days=3), "Neighbourhood policing in Riverside"),
                                        ("live", now - timedelta(minutes=10), "Ask the Commissioner: the precept"),
                                        ("closed", now - timedelta(days=7), "Road safety near schools")):
                room = rooms.create_room(tx, admin, {
                    "title": title, "starts_at": start, "ends_at": start + timedelta(hours=1), "area": "Riverside",
                    "description": f"Questions about {title.lower()}.", "welcome_text": "Welcome, everyone.",
                    "slow_mode_seconds": 0, "title_cy": f"{title} (Cymraeg)"})
                rooms.change_state(tx, admin, room["id"], "scheduled")
                if state != "scheduled":
                    rooms.change_state(tx, admin, room["id"], "live")
                made[state] = room
            live_id = made["live"]["id"]
            sam = join_room(tx, live_id, "Sam", "203.0.113.9")
            asked = live.submit_question(tx, sam, "Will there be more patrols on Riverside Road at night?")
            live.approve_question(tx, moderator, asked["id"])
            live.answer_question(tx, host, asked["id"], "Yes: two extra patrols from next month.")
            live.submit_question(tx, sam, "How do I join Neighbourhood Watch?")
            jo = join_room(tx, live_id, "Jo", "203.0.113.10")
            live.submit_question(tx, jo, "how do i join neighbourhood watch??")   # a group of similar questions
            off_topic = live.submit_question(tx, sam, "What about the bins?")
            live.reject_question(tx, moderator, off_topic["id"], "off_topic")
            live.post_announcement(tx, host, live_id, "We will take questions for one hour.")
            live.open_poll(tx, host, live_id, "Which area should we focus on?", "single",
                           ["Town centre", "Riverside", "Villages"], "live")
            themes.create_theme(tx, admin, "Road safety and speeding", "priority")
            lee = join_room(tx, made["closed"]["id"], "Lee", "203.0.113.11")
            speeding = live.submit_question(tx, lee, "Cars speed past the school every morning, can we get speed checks?")
            live.approve_question(tx, moderator, speeding["id"])
            rooms.change_state(tx, admin, made["closed"]["id"], "closed")
        suggest_for_room(tenant.id, made["closed"]["id"])   # a theme suggestion waiting for staff
        return Showcase(tenant, admin, host, moderator, made)


@pytest.fixture(scope="session")
def web_server(site):
    """The web process of `site` (tests that only need pages, not the live server)."""
    return site.web
