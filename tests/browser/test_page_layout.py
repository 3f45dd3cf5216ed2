"""Pages laid out for the task at hand: on a 390 x 844 phone the room page puts what a resident
came to do in the first screen, for each state, in English and Welsh; the console's navigation is
grouped, marks where you are, and works at 320 px by keyboard alone."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_check, staff_cookie, wait_connected

PHONE = {"width": 390, "height": 844}
FIRST_SCREEN = PHONE["height"]

# state -> (before joining, after joining): the controls that must be in the first screen
FIRST_THINGS = {
    "scheduled": [".calendar-link a", "#register-email"],
    "live": ["#display-name", "button:has-text('Join the chat'), button:has-text('Ymuno')"],
    "closed": [".transcript-link a, [data-field='closing']"],
}


def bottom_of(page, selector: str) -> float:
    box = page.locator(selector).first.bounding_box()
    assert box, f"{selector} is not rendered"
    return box["y"] + box["height"]


def open_room(new_page, site, showcase, state: str, lang: str):
    page = new_page(viewport=PHONE)
    response = page.goto(site.tenant_url(showcase.tenant, f"/rooms/{showcase.rooms[state]['id']}?lang={lang}"))
    assert response.status == 200
    wait_connected(page)
    return page


@pytest.mark.parametrize("lang", ["en", "cy"])
@pytest.mark.parametrize("state", ["scheduled", "live", "closed"])
def test_what_a_resident_came_for_is_in_the_first_phone_screen(state, lang, app_ctx, site, showcase, new_page):
    page = open_room(new_page, site, showcase, state, lang)
    assert page.evaluate("document.documentElement.lang").startswith(lang)
    for selector in FIRST_THINGS[state]:
        assert bottom_of(page, selector) <= FIRST_SCREEN, f"{state}/{lang}: {selector} is below the first screen"
    if state == "live":
        # the published questions come before reminders and sharing, which are folded
        order = page.evaluate("[...document.querySelectorAll('[data-part]')].map((p) => p.dataset.part)")
        assert order.index("questions") < order.index("register") < order.index("share")
        assert order.index("announcements") < order.index("questions") and order.index("polls") < order.index("questions")
        expect(page.locator("[data-part='register'] details.fold")).not_to_have_attribute("open", "")
        page.locator("#display-name").fill("Robin")
        page.locator("#join button[type=submit]").click()
        page.locator("#ask").wait_for()
        wait_connected(page)
        assert bottom_of(page, "#question-body") <= FIRST_SCREEN, f"{lang}: the question box is below the first screen"
        # scrolled down to read, the question box is one tap away at the bottom of the screen
        page.locator("[data-part='share']").scroll_into_view_if_needed()
        jump = page.locator(".ask-jump a")
        expect(jump).to_be_visible()
        jump.click()
        expect(page.locator("#question-body")).to_be_focused()
    axe_check(page)


def test_the_page_follows_the_chat_when_it_goes_live_and_keeps_focus(app_ctx, make_world, site, new_page):
    world = make_world("scheduled")
    page = new_page(viewport=PHONE)
    page.goto(site.tenant_url(world.tenant, f"/rooms/{world.room['id']}"))
    wait_connected(page)
    order = lambda: page.evaluate("[...document.querySelectorAll('[data-part]')].map((p) => p.dataset.part)")
    assert order()[:2] == ["calendar", "register"]
    page.locator("#register-email").focus()
    from services.rooms import actions as rooms
    from tenants.db import tenant_scope
    with tenant_scope(world.tenant.id) as tx:
        rooms.change_state(tx, world.admin, world.room["id"], "live")
    expect(page.locator("[data-field='room-state']")).to_have_text("Live now")
    assert order()[:2] == ["safety", "ask"], order()
    expect(page.locator("#register-email")).to_be_focused()


def test_console_navigation_is_grouped_and_marks_the_current_page(app_ctx, site, showcase, new_page):
    page = new_page()
    page.context.add_cookies([staff_cookie(site, showcase.tenant, showcase.admin)])
    page.goto(site.tenant_url(showcase.tenant, "/console/staff"))
    nav = page.get_by_role("navigation", name="Console")
    top = nav.locator(":scope > ul > li")
    # two links and three menus at the top instead of sixteen links
    assert top.count() == 5, nav.inner_text()
    expect(nav.get_by_role("link", name="Chats")).to_be_visible()
    expect(nav.get_by_role("link", name="Staff")).to_be_hidden()           # inside the closed menu
    expect(nav.locator("summary.nav-current")).to_have_text("Organisation")
    expect(nav.get_by_role("link", name="Staff", include_hidden=True)).to_have_attribute("aria-current", "page")
    axe_check(page)
    nav.locator("summary", has_text="Organisation").click()
    expect(nav.get_by_role("link", name="Audit log")).to_be_visible()
    axe_check(page)

    page.goto(site.tenant_url(showcase.tenant, f"/console/rooms/{showcase.rooms['live']['id']}/edit"))
    expect(page.get_by_role("navigation", name="Console").get_by_role("link", name="Chats")) \
        .to_have_attribute("aria-current", "true")


def test_console_navigation_by_keyboard_at_320_px(app_ctx, site, showcase, new_page):
    page = new_page(viewport={"width": 320, "height": 640})
    page.context.add_cookies([staff_cookie(site, showcase.tenant, showcase.admin)])
    page.goto(site.tenant_url(showcase.tenant, "/console/"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 320, "the page scrolls sideways at 320 px"
    focused = "() => document.activeElement.textContent.trim()"
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate(focused) == "Organisation":
            break
    else:
        raise AssertionError("Tab never reached the Organisation menu")
    page.keyboard.press("Enter")
    organisation = page.locator("details.nav-menu", has_text="Organisation")
    expect(organisation).to_have_attribute("open", "")
    page.keyboard.press("Tab")
    assert page.evaluate(focused) == "Staff"
    assert page.evaluate("document.documentElement.scrollWidth") <= 320, "an open menu scrolls sideways"
    page.keyboard.press("Escape")
    expect(organisation).not_to_have_attribute("open", "")
    assert page.evaluate(focused) == "Organisation", "Escape puts focus back on the menu's button"
    # one menu open at a time
    page.locator("summary", has_text="Engagement").click()
    page.locator("summary", has_text="Organisation").click()
    expect(page.locator("details.nav-menu[open]")).to_have_count(1)
    axe_check(page)

