"""Safety screening in a real browser: the 999 guidance appears above the composer in an
assertive live region the moment a resident describes a danger, and the moderator's card says why."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import axe_check, resident_in_room, sign_in_page, wait_connected


def test_a_resident_in_danger_sees_999_guidance_above_the_composer(app_ctx, make_world, site, new_page):
    world = make_world()
    room_path = f"/rooms/{world.room['id']}"
    resident = resident_in_room(new_page, site, world, "Sam")

    resident.get_by_label("Your question", exact=True).fill("my partner hit me and he is still here")
    resident.get_by_role("button", name="Send question").click()
    guidance = resident.locator("#safety-guidance")
    expect(guidance).to_contain_text("call 999")
    expect(guidance).to_contain_text("Relay UK")
    assert guidance.get_attribute("role") == "alert"
    above = resident.evaluate("""() => document.getElementById('safety-guidance')
        .compareDocumentPosition(document.getElementById('question-body')) & Node.DOCUMENT_POSITION_FOLLOWING""")
    assert above, "the guidance comes before the composer"
    assert resident.evaluate("window.__sameDocument") is True
    axe_check(resident)

    moderator = sign_in_page(new_page, site, world.tenant, world.moderator)
    moderator.goto(site.tenant_url(world.tenant, f"/console{room_path}/moderate"))
    wait_connected(moderator, "#staff-live")
    card = moderator.locator("#queue .queue-item", has_text="my partner hit me")
    expect(card.locator("[data-field='safety']")).to_contain_text("Possible emergency")
    expect(card.get_by_role("button", name="Escalate: safeguarding")).to_be_visible()
    axe_check(moderator)
