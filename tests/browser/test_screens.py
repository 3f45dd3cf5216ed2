"""Every page type at a phone and a desktop width: nothing scrolls sideways, and a screenshot of
each is written so a reviewer can see the product without running it.

`make screens` runs this file with SCREENS_DIR=docs/screens to refresh the committed pictures;
otherwise they go to pytest's temporary folder.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.conftest import staff_cookie, wait_connected
from tests.browser.test_accessibility import platform_cookie

WIDTHS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}

# name -> (path under /t/<slug>, or from the root for /platform; who is signed in; a live root to wait for)
SCREENS = {
    "home": ("/", None, None),
    "room-before": ("/rooms/{scheduled}", None, "#live"),
    "room-live": ("/rooms/{live}", None, "#live"),
    "room-live-joined": ("/rooms/{live}", "resident", "#live"),
    "room-after": ("/rooms/{closed}", None, "#live"),
    "embed": ("/rooms/{live}/embed", None, "#live"),
    "big-screen": ("/rooms/{live}/screen", None, "#live"),
    "console-chats": ("/console/", "admin", None),
    "console-moderate": ("/console/rooms/{live}/moderate", "moderator", "#staff-live"),
    "console-host": ("/console/rooms/{live}/host", "host", "#staff-live"),
    "console-room-editor": ("/console/rooms/{scheduled}/edit", "admin", None),
    "console-settings": ("/console/settings", "admin", None),
    "console-report": ("/console/reports/themes", "admin", None),
    "platform-tenants": ("/platform/", "platform", None),
}


@pytest.fixture(scope="module")
def screens_dir(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("SCREENS_DIR") or tmp_path_factory.mktemp("screens"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def open_screen(new_page, site, showcase, name: str, viewport: dict):
    path, who, live_root = SCREENS[name]
    page = new_page(viewport=viewport)
    if who in ("admin", "host", "moderator"):
        page.context.add_cookies([staff_cookie(site, showcase.tenant, getattr(showcase, who))])
    elif who == "platform":
        page.context.add_cookies([platform_cookie()])
    url = site.url + path if path.startswith("/platform/") else site.tenant_url(showcase.tenant, showcase.path(path))
    response = page.goto(url)
    assert response.status == 200, f"{name}: HTTP {response.status}"
    if who == "resident":
        page.locator("#display-name").fill("Robin")
        page.locator("#join button[type=submit]").click()
        page.locator("#ask").wait_for()
    if live_root:
        wait_connected(page, live_root)
    return page


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", SCREENS)
def test_page_fits_the_screen(name, width, app_ctx, site, showcase, new_page, screens_dir):
    viewport = WIDTHS[width]
    page = open_screen(new_page, site, showcase, name, viewport)
    overflow = page.evaluate("document.documentElement.scrollWidth") - viewport["width"]
    assert overflow <= 0, f"{name} at {width} width scrolls sideways by {overflow}px"
    picture = screens_dir / f"{name}-{width}.png"
    page.screenshot(path=str(picture), full_page=True, animations="disabled", caret="hide")
    assert picture.stat().st_size > 10_000, f"{picture} is blank"
