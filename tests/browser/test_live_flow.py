"""Issue 3's acceptance in a real browser: a resident asks, a moderator approves, a host answers,
and the resident sees the question and the answer arrive without reloading."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import resident_in_room, sign_in_page, wait_connected


def test_resident_sees_approved_question_and_answer_without_reloading(app_ctx, make_world, site, new_page):
    world = make_world()
    room_path = f"/rooms/{world.room['id']}"

    resident = resident_in_room(new_page, site, world, "Jo from Riverside")

    resident.get_by_label("Your question", exact=True).fill("When will the Riverside station reopen?")
    resident.get_by_role("button", name="Send question").click()
    own = resident.locator("#my-questions-list li")
    expect(own).to_contain_text("When will the Riverside station reopen?")
    expect(own).to_contain_text("waiting for a moderator")

    moderator = sign_in_page(new_page, site, world.tenant, world.moderator)
    moderator.goto(site.tenant_url(world.tenant, f"/console{room_path}/moderate"))
    wait_connected(moderator, "#staff-live")
    item = moderator.locator("#queue .queue-item", has_text="Riverside station")
    item.get_by_role("button", name="Approve").click()
    expect(moderator.locator("#decided .queue-item", has_text="Riverside station")).to_be_visible()

    host = sign_in_page(new_page, site, world.tenant, world.host)
    host.goto(site.tenant_url(world.tenant, f"/console{room_path}/host"))
    wait_connected(host, "#staff-live")
    question = host.locator("#published .question", has_text="Riverside station")
    question.get_by_label("Your answer").fill("It reopens on 1 March with longer hours.")
    question.get_by_role("button", name="Publish answer").click()

    published = resident.locator("#questions .question", has_text="When will the Riverside station reopen?")
    expect(published).to_be_visible()
    expect(published.locator(".byline").first).to_contain_text("Jo from Riverside")
    expect(published.locator(".answer")).to_contain_text("It reopens on 1 March with longer hours.")
    expect(published.locator(".answer")).to_contain_text("Pat Commissioner")
    expect(own).to_contain_text("published")
    assert resident.evaluate("window.__sameDocument") is True, "the resident page reloaded"
    expect(resident.locator("[data-empty-for='questions']")).to_be_hidden()
    assert re.search(r"#ask$", resident.url)
