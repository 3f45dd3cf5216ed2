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
    platform: bool = False        # a platform console page (path from the site root), as a platform admin

    def __str__(self) -> str:
        return self.name


PAGES = [
    AxePage("tenant home", "/"),
    AxePage("room before (scheduled)", "/rooms/{scheduled}", live="#live"),
    AxePage("room during (live, not joined)", "/rooms/{live}", live="#live"),
    AxePage("room during (live, joined)", "/rooms/{live}", joined=True, live="#live"),
    AxePage("room after (closed)", "/rooms/{closed}", live="#live"),
    AxePage("embed (live)", "/rooms/{live}/embed", live="#live"),
    AxePage("embed (live, joined)", "/rooms/{live}/embed", joined=True, live="#live"),
    AxePage("big screen", "/rooms/{live}/screen", live="#live"),
    AxePage("accessibility statement", "/accessibility"),
    AxePage("your data (subject access and deletion)", "/your-data"),
    AxePage("neighbourhoods", "/neighbourhoods"),
    AxePage("console sign-in", "/console/sign-in"),
    AxePage("console dashboard", "/console/", staff="admin"),
    AxePage("room editor (new)", "/console/rooms/new", staff="admin"),
    AxePage("room editor (existing)", "/console/rooms/{scheduled}/edit", staff="admin"),
    AxePage("moderation", "/console/rooms/{live}/moderate", staff="moderator", live="#staff-live"),
    AxePage("host view", "/console/rooms/{live}/host", staff="host", live="#staff-live"),
    AxePage("API and webhooks", "/console/api/", staff="admin"),
    AxePage("plan and usage", "/console/usage", staff="admin"),
    AxePage("platform sign-in", "/platform/sign-in"),
    AxePage("platform tenants", "/platform/", platform=True),
    AxePage("platform tenant", "/platform/tenants/{tenant_id}", platform=True),
    AxePage("platform audit log", "/platform/audit", platform=True),
    AxePage("engagement settings", "/console/settings/engagement", staff="admin"),
    AxePage("escalations", "/console/escalations", staff="admin"),
    AxePage("themes", "/console/themes", staff="admin"),
    AxePage("data requests", "/console/data-requests", staff="admin"),
    AxePage("neighbourhoods (console)", "/console/neighbourhoods", staff="admin"),
    AxePage("consultation report", "/console/reports/themes", staff="admin"),
    AxePage("suggested themes", "/console/rooms/{closed}/theme-suggestions", staff="moderator"),
    AxePage("staff", "/console/staff", staff="admin"),
    AxePage("settings", "/console/settings", staff="admin"),
    AxePage("audit log", "/console/audit", staff="admin"),
    AxePage("your account", "/console/account", staff="admin"),
    AxePage("recordings and captions", "/console/rooms/{closed}/media", staff="admin"),
]


def platform_cookie() -> dict:
    """A full platform admin session (the rows the sign-in and TOTP steps create)."""
    import uuid

    import pyotp

    from tenants.db import unscoped
    from tenants.platform_auth import _start, create_admin

    admin, _ = create_admin(f"axe-{uuid.uuid4().hex[:6]}@townhall.example")
    with unscoped() as tx:
        row = tx.one("update platform_admins set totp_secret = %s where id = %s returning *",
                     [pyotp.random_base32(), admin.id])
        token = _start(tx, row, "full", "127.0.0.1").token
    return {"name": "th_platform", "value": token, "domain": "127.0.0.1", "path": "/platform/", "httpOnly": True,
            "sameSite": "Strict"}


def open_page(new_page, site, showcase, spec: AxePage):
    page = new_page()
    if spec.staff:
        page.context.add_cookies([staff_cookie(site, showcase.tenant, getattr(showcase, spec.staff))])
    if spec.platform:
        page.context.add_cookies([platform_cookie()])
    if spec.path.startswith("/platform/"):
        url = site.url + spec.path.format(tenant_id=showcase.tenant.id)
    else:
        url = site.tenant_url(showcase.tenant, showcase.path(spec.path))
    response = page.goto(url)
    assert response.status == 200, f"{spec.name}: HTTP {response.status}"
    if spec.joined:
        page.get_by_label("Display name (optional)").fill("Robin")
        page.get_by_role("button", name="Join the chat").click()
        page.locator("#ask").wait_for()
    if spec.live:
        wait_connected(page, spec.live)
    return page


@pytest.mark.parametrize("spec", PAGES, ids=str)
def test_page_has_no_wcag_violations(spec, app_ctx, site, showcase, new_page):
    page = open_page(new_page, site, showcase, spec)
    assert page.locator("h1").count() == 1, "every page has exactly one main heading"
    axe_check(page)
