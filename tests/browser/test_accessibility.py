"""WCAG 2.2 AA in Chromium: axe-core on every page type, with live content in place.

Adding a page type is one line in PAGES: a name, the path under /t/<slug> (room ids by state:
{scheduled}, {live}, {closed}), and optionally a staff role to sign in as or `joined=True`
for a resident who has joined the live room.
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.browser.conftest import axe_check, staff_cookie, wait_connected


@dataclass(frozen=True)
class AxePage:
    name: str
    path: str
    staff: str | None = None      # "admin", "host" or "moderator": signed in first
    joined: bool = False          # a resident who has joined (the ask form and their questions)
    live: str | None = None       # the root of a live page: wait for its Socket.IO connection

    def __str__(self) -> str:
        return self.name


PAGES = [
    AxePage("tenant home", "/"),
    AxePage("room before (scheduled)", "/rooms/{scheduled}", live="#live"),
    AxePage("room during (live, not joined)", "/rooms/{live}", live="#live"),
    AxePage("room during (live, joined)", "/rooms/{live}", joined=True, live="#live"),
    AxePage("room after (closed)", "/rooms/{closed}", live="#live"),
    AxePage("accessibility statement", "/accessibility"),
    AxePage("your data (subject access and deletion)", "/your-data"),
    AxePage("neighbourhoods", "/neighbourhoods"),
    AxePage("console sign-in", "/console/sign-in"),
    AxePage("console dashboard", "/console/", staff="admin"),
    AxePage("room editor (new)", "/console/rooms/new", staff="admin"),
    AxePage("room editor (existing)", "/console/rooms/{scheduled}/edit", staff="admin"),
    AxePage("moderation", "/console/rooms/{live}/moderate", staff="moderator", live="#staff-live"),
    AxePage("host view", "/console/rooms/{live}/host", staff="host", live="#staff-live"),
    AxePage("engagement settings", "/console/settings/engagement", staff="admin"),
    AxePage("escalations", "/console/escalations", staff="admin"),
    AxePage("themes", "/console/themes", staff="admin"),
    AxePage("data requests", "/console/data-requests", staff="admin"),
    AxePage("neighbourhoods (console)", "/console/neighbourhoods", staff="admin"),
    AxePage("consultation report", "/console/reports/themes", staff="admin"),
]


def open_page(new_page, site, showcase, spec: AxePage):
    page = new_page()
    if spec.staff:
        page.context.add_cookies([staff_cookie(site, showcase.tenant, getattr(showcase, spec.staff))])
    response = page.goto(site.tenant_url(showcase.tenant, showcase.path(spec.path)))
    assert response.status == 200, f"{spec.name}: HTTP {response.status}"
    if spec.joined:
        page.get_by_label("Display name (optional)").fill("Robin")
        page.get_by_role("button", name="Join the chat").click()
        page.wait_for_url("**#ask")
    if spec.live:
        wait_connected(page, spec.live)
    return page


@pytest.mark.parametrize("spec", PAGES, ids=str)
def test_page_has_no_wcag_violations(spec, app_ctx, site, showcase, new_page):
    page = open_page(new_page, site, showcase, spec)
    assert page.locator("h1").count() == 1, "every page has exactly one main heading"
    axe_check(page)
