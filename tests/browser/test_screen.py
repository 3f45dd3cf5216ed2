"""Big-screen mode: large, high-contrast, no controls, and it brings the newest question and answer
into view by itself: smoothly, or instantly when the viewer asks for reduced motion."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from services.live import actions
from tenants.db import tenant_scope
from tests.browser.conftest import wait_connected


def publish(world, resident, body: str) -> dict:
    with tenant_scope(world.tenant.id) as tx:
        question = actions.submit_question(tx, resident, body)
        actions.approve_question(tx, world.moderator, question["id"])
    return question


@pytest.mark.parametrize("motion", ["no-preference", "reduce"])
def test_big_screen_follows_the_conversation(motion, app_ctx, make_world, site, new_page):
    world = make_world()
    for n in range(8):   # one resident each: residents may ask only a few questions a minute
        publish(world, world.join(f"Resident {n}"), f"Earlier question number {n + 1} about local policing?")
    resident = world.join("Ali")
    page = new_page(viewport={"width": 1280, "height": 720}, reduced_motion=motion)
    page.goto(site.tenant_url(world.tenant, f"/rooms/{world.room['id']}/screen"))
    wait_connected(page)

    assert page.locator("button, input, select, textarea, form").count() == 0, "no controls on the screen"
    body = page.locator("#questions .question .body").first
    assert float(body.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 32, "projector-sized type"
    colours = page.evaluate("() => [getComputedStyle(document.body).color, getComputedStyle(document.body).backgroundColor]")
    assert colours == ["rgb(255, 255, 255)", "rgb(0, 0, 0)"], "white on black"

    question = publish(world, resident, "What happens to the old police station?")
    newest = page.locator("#questions .question", has_text="What happens to the old police station?")
    expect(newest).to_be_in_viewport()
    with tenant_scope(world.tenant.id) as tx:
        actions.answer_question(tx, world.host, question["id"], "It becomes a community hub with a front counter.")
    answer = newest.locator(".answer")
    expect(answer).to_contain_text("It becomes a community hub")
    expect(answer).to_be_in_viewport()
    expected = {"no-preference": ("smooth", "arrive"), "reduce": ("instant", "none")}[motion]
    assert page.locator("#live").get_attribute("data-scroll") == expected[0]
    assert answer.evaluate("e => getComputedStyle(e).animationName") == expected[1]
    expect(page.locator("#questions .question").first).not_to_be_in_viewport()
