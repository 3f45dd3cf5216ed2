"""Moderator assist in the moderation page: similar questions arrive as one card ("N similar
questions") that opens to its members, live and after a reload; merging the group from the card
publishes one and merges the rest; the page stays accessible with the group open."""
from __future__ import annotations

from playwright.sync_api import expect

from services.live import actions
from tenants.db import tenant_scope
from tests.browser.conftest import axe_check, sign_in_page, wait_connected
from tests.support.live_client import LiveClient

FIRST = "Why is my council tax going up for the police this year?"
SAME = "why is my council tax going up for police this year??"
AGAIN = "Why is my council tax going up for the police this year"


def test_similar_questions_arrive_as_one_card_that_merges(app_ctx, make_world, site, new_page):
    world = make_world()
    asked = []
    for name, body in (("Alice", FIRST), ("Bob", SAME), ("Dee", "How do I become a special constable?")):
        with tenant_scope(world.tenant.id) as tx:    # one transaction each, as residents ask
            asked.append(actions.submit_question(tx, world.join(name), body))
    first = asked[0]
    page = sign_in_page(new_page, site, world.tenant, world.moderator)
    page.goto(site.tenant_url(world.tenant, f"/console/rooms/{world.room['id']}/moderate"))
    wait_connected(page, "#staff-live")
    cards = page.locator("#queue > .queue-item")
    expect(cards).to_have_count(2)
    card = page.locator(f"#queue > .queue-item[data-question-id='{first['id']}']")
    expect(card.locator("details[data-group] > summary").first).to_have_text("2 similar questions")
    expect(page.locator('[data-field="pending-count"]')).to_have_text("3")

    # a third arrives live (through the live process) and joins the card
    carol = LiveClient(site.live.url, world.resident_token(world.join("Carol"))).connect()
    try:
        assert carol.call("ask", {"body": AGAIN})["ok"]
    finally:
        carol.disconnect()
    expect(card.locator("details[data-group] > summary").first).to_have_text("3 similar questions")
    expect(cards).to_have_count(2)
    card.locator("details[data-group] > summary").first.click()
    expect(card.locator("[data-group-members] > .queue-item")).to_have_count(2)
    axe_check(page)

    card.locator("form[data-command='merge_group'] button").last.click()
    expect(page.locator("#decided .queue-item[data-status='published']")).to_have_count(1)
    expect(page.locator("#decided .queue-item[data-status='rejected']")).to_have_count(2)
    expect(cards).to_have_count(1)
    expect(page.locator('[data-field="pending-count"]')).to_have_text("1")
    with tenant_scope(world.tenant.id) as tx:
        assert tx.value("select count(*) from questions where merged_into = %s", [first["id"]]) == 2

    page.reload()          # the server's render agrees
    wait_connected(page, "#staff-live")
    expect(page.locator("#queue > .queue-item")).to_have_count(1)
    expect(page.locator("#decided .queue-item[data-status='rejected']")).to_have_count(2)
