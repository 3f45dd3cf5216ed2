"""Keyboard-only use, polite live announcements that do not flood, and text at 200% without loss."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import staff_cookie, wait_connected
from tests.support.live_client import LiveClient

FOCUSED = "() => { const e = document.activeElement; return e ? (e.id || e.textContent.trim().slice(0, 40)) : ''; }"


def tab_to(page, target: str, limit: int = 40) -> list[str]:
    """Presses Tab until the element `target` (a CSS selector) has focus; returns the stops passed."""
    stops = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        stops.append(page.evaluate(FOCUSED))
        if page.evaluate("(sel) => document.activeElement && document.activeElement.matches(sel)", target):
            return stops
    raise AssertionError(f"Tab never reached {target}; focus went through {stops}")


def test_keyboard_only_join_ask_and_read_the_answer(app_ctx, make_world, site, page):
    world = make_world()
    moderator = LiveClient(site.live.url, world.staff_token(world.moderator), staff_last_seq=0).connect()
    host = LiveClient(site.live.url, world.staff_token(world.host)).connect()
    try:
        page.goto(site.tenant_url(world.tenant, f"/rooms/{world.room['id']}"))
        stops = tab_to(page, "#display-name")
        assert stops[0] == "Skip to main content", "the skip link is the first stop"
        assert stops[1] == "Leave this site quickly", "the quick exit is reachable at once"
        page.keyboard.type("Kim")
        page.keyboard.press("Enter")                      # submits the join form
        page.wait_for_url("**#ask")
        wait_connected(page)
        tab_to(page, "#question-body")
        page.keyboard.type("Can we have a speed camera on Mill Lane?")
        page.keyboard.press("Tab")
        assert page.evaluate(FOCUSED) == "Send question"
        page.keyboard.press("Enter")
        expect(page.locator("#my-questions-list")).to_contain_text("waiting for a moderator")

        submitted = moderator.wait_for(lambda: moderator.events_of("question.submitted", "staff"))
        question_id = submitted[-1]["data"]["id"]
        assert moderator.call("approve", {"question_id": question_id})["ok"]
        assert host.call("answer", {"question_id": question_id, "body": "We will survey Mill Lane in May."})["ok"]

        answer = page.locator("#questions .answer", has_text="We will survey Mill Lane in May.")
        expect(answer).to_be_visible()
        expect(page.locator("[data-field='announcer']")).not_to_be_empty()
        # the answer is reachable in reading order: the questions section follows the ask form
        order = page.evaluate("""() => {
            const ask = document.getElementById('ask'), list = document.getElementById('questions');
            return ask.compareDocumentPosition(list) & Node.DOCUMENT_POSITION_FOLLOWING;
        }""")
        assert order, "questions and answers follow the ask form in the reading order"
    finally:
        moderator.disconnect()
        host.disconnect()


def test_live_region_is_polite_and_throttles_a_burst(app_ctx, make_world, site, page):
    from services.live import actions
    from tenants.db import tenant_scope

    world = make_world()
    page.goto(site.tenant_url(world.tenant, f"/rooms/{world.room['id']}"))
    wait_connected(page)
    region = page.locator("[data-field='announcer']")
    assert region.get_attribute("aria-live") == "polite" and region.get_attribute("aria-atomic") == "true"
    assert page.locator("[aria-live='assertive']").count() == 0, "nothing interrupts the reader"
    page.evaluate("""() => {
        window.__said = [];
        const region = document.querySelector('[data-field="announcer"]');
        new MutationObserver(() => window.__said.push([performance.now(), region.textContent]))
            .observe(region, {childList: true, characterData: true, subtree: true});
    }""")
    with tenant_scope(world.tenant.id) as tx:
        for text in ("One", "Two", "Three", "Four", "Five"):
            actions.post_announcement(tx, world.host, world.room["id"], text)
    expect(page.locator("#announcements li")).to_have_count(5)
    expect(region).to_have_text("4 new updates. Latest: Announcement: Five", timeout=8000)
    said = page.evaluate("window.__said")
    texts = [t for _, t in said]
    assert texts == ["Announcement: One", "4 new updates. Latest: Announcement: Five"], texts
    gap_ms = said[1][0] - said[0][0]
    assert gap_ms >= 3500, f"announcements came {gap_ms:.0f} ms apart: a burst must not flood the reader"


RESIDENT_AND_CONSOLE = ["/", "/rooms/{scheduled}", "/rooms/{live}", "/rooms/{closed}", "/accessibility",
                        "/console/sign-in", "/console/rooms/{live}/moderate", "/console/rooms/{live}/host"]

OVERFLOW = """() => {
    const width = document.documentElement.clientWidth;
    const wide = [...document.querySelectorAll('body *')].filter((el) => {
        const r = el.getBoundingClientRect();
        const style = getComputedStyle(el);
        if (!r.width || style.visibility === 'hidden' || el.closest('.sr-only, .skip-link')) return false;
        return r.right > width + 1 || (el.scrollWidth > el.clientWidth + 1 && style.overflowX === 'hidden');
    });
    return {scroll: document.documentElement.scrollWidth, width,
            wide: wide.slice(0, 5).map((el) => el.tagName + (el.id ? '#' + el.id : '') + '.' + el.className)};
}"""


@pytest.mark.parametrize("zoom", ["text 200%", "page 200% (640px)", "reflow (320px)"])
def test_text_at_200_percent_needs_no_sideways_scrolling(zoom, app_ctx, site, showcase, new_page):
    width = {"text 200%": 1280, "page 200% (640px)": 640, "reflow (320px)": 320}[zoom]
    page = new_page(viewport={"width": width, "height": 900})
    page.context.add_cookies([staff_cookie(site, showcase.tenant, showcase.admin)])
    problems = []
    for template in RESIDENT_AND_CONSOLE:
        page.goto(site.tenant_url(showcase.tenant, showcase.path(template)))
        if zoom == "text 200%":   # browser text-size setting: the root font size doubles
            page.evaluate("document.documentElement.style.fontSize = '200%'")
        result = page.evaluate(OVERFLOW)
        if result["scroll"] > result["width"] + 1 or result["wide"]:
            problems.append(f"{template}: {result}")
    assert not problems, f"content wider than the window at {zoom}:\n" + "\n".join(problems)
