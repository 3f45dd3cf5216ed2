"""Police-grade engagement in Chromium: one vote per resident across tabs and reloads, the
brigading signal on the moderation page, the quick exit, verified staff and the name rule."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from services.live import actions
from services.residents.actions import join_room
from tenants.db import tenant_scope
from tests.browser.conftest import sign_in_page, wait_connected

NEUTRAL = "https://www.bbc.co.uk/weather"


def published_question(world, body: str, answer: str | None = None) -> dict:
    with tenant_scope(world.tenant.id) as tx:
        author = join_room(tx, world.room["id"], "Question Author", "192.0.2.1")
        question = actions.submit_question(tx, author, body)
        actions.approve_question(tx, world.moderator, question["id"])
        if answer:
            actions.answer_question(tx, world.host, question["id"], answer)
    return question


def join(page, site, world, name: str | None = None) -> None:
    page.goto(site.tenant_url(world.tenant, f"/rooms/{world.room['id']}"))
    if name:
        page.get_by_label("Display name (optional)").fill(name)
    page.get_by_role("button", name="Join the chat").click()


def test_two_tabs_of_one_browser_cannot_vote_twice(app_ctx, make_world, site, new_page):
    world = make_world()
    question = published_question(world, "Should the station open on Sundays?")
    with tenant_scope(world.tenant.id) as tx:
        poll = actions.open_poll(tx, world.host, world.room["id"], "Which night suits you?", "single",
                                 ["Tuesday", "Thursday"], "live")
    first = new_page()
    join(first, site, world, "Sam Voter")
    wait_connected(first)
    second = first.context.new_page()          # a new tab: same browser, same signed session cookie
    second.goto(site.tenant_url(world.tenant, f"/rooms/{world.room['id']}"))
    wait_connected(second)
    assert first.locator("#live").get_attribute("data-kind") == second.locator("#live").get_attribute("data-kind") \
        == "resident"

    def vote(page):
        button = page.locator(f"[data-question-id='{question['id']}'] [data-vote]")
        button.click()
        return button

    expect(vote(first)).to_have_text("Voted")
    expect(vote(second)).to_have_text("You have already voted for this question.")
    first.reload()                                # a reconnect is the same resident too
    wait_connected(first)
    expect(vote(first)).to_have_text("You have already voted for this question.")

    second.locator(f"form.poll[data-poll-id='{poll['id']}']").get_by_label("Tuesday").check()
    second.locator(f"form.poll[data-poll-id='{poll['id']}']").get_by_role("button", name="Vote").click()
    expect(second.locator(f"form.poll[data-poll-id='{poll['id']}'] .command-note, "
                          f"form.poll[data-poll-id='{poll['id']}'] [role=status]").first).to_have_text(re.compile("counted"))
    first.locator(f"form.poll[data-poll-id='{poll['id']}']").get_by_label("Thursday").check()
    first.locator(f"form.poll[data-poll-id='{poll['id']}']").get_by_role("button", name="Vote").click()
    expect(first.locator(f"form.poll[data-poll-id='{poll['id']}']")).to_contain_text("You have already voted in this poll.")
    with tenant_scope(world.tenant.id) as tx:
        assert tx.value("select vote_count from questions where id = %s", [question["id"]]) == 1
        assert tx.value("select count(*) from question_votes where question_id = %s", [question["id"]]) == 1
        assert tx.value("select count(*) from poll_votes where poll_id = %s", [poll["id"]]) == 1
        assert tx.value("select count(*) from participants where display_name = 'Sam Voter'") == 1


def test_moderators_see_a_burst_of_votes_from_one_network_as_it_happens(app_ctx, make_world, site, new_page):
    world = make_world()
    question = published_question(world, "Bring back the mounted patrols")
    moderator = sign_in_page(new_page, site, world.tenant, world.moderator)
    moderator.goto(site.tenant_url(world.tenant, f"/console/rooms/{world.room['id']}/moderate"))
    wait_connected(moderator, "#staff-live")
    expect(moderator.locator("#vote-bursts li")).to_have_count(0)
    with tenant_scope(world.tenant.id) as tx:
        for _ in range(actions.VOTE_BURST_THRESHOLD):
            actions.upvote_question(tx, join_room(tx, world.room["id"], None, "198.51.100.77"), question["id"])
    burst = moderator.locator("#vote-bursts li")
    expect(burst).to_have_count(1)
    expect(burst).to_contain_text(f"{actions.VOTE_BURST_THRESHOLD} votes in 2 minutes for: Bring back the mounted patrols")
    moderator.reload()                            # and it is still listed after a reload
    expect(moderator.locator("#vote-bursts li")).to_contain_text("Bring back the mounted patrols")


def _neutral_site(page) -> None:
    page.context.route(f"{NEUTRAL}**", lambda route: route.fulfill(status=200, content_type="text/html",
                                                                   body="<title>Weather</title><p>Weather</p>"))


def test_quick_exit_replaces_the_page_by_click_and_by_escape_twice(app_ctx, make_world, site, new_page):
    world = make_world()
    room_url = site.tenant_url(world.tenant, f"/rooms/{world.room['id']}")
    home_url = site.tenant_url(world.tenant, "/")
    for how in ("click", "escape"):
        page = new_page()
        _neutral_site(page)
        page.goto(home_url)
        page.goto(room_url)
        before = page.evaluate("history.length")
        if how == "click":
            page.get_by_role("link", name="Leave this site quickly").click()
        else:
            page.locator("body").press("Escape")
            page.locator("body").press("Escape")
        page.wait_for_url(f"{NEUTRAL}**")
        assert page.evaluate("history.length") == before   # replaced, not added: nothing new to go back to
        page.go_back()
        assert page.url != room_url and "/rooms/" not in page.url, f"Back returned to the chat ({how})"


def test_answers_show_verified_staff_and_residents_cannot_pose_as_police(app_ctx, make_world, site, new_page):
    world = make_world()
    published_question(world, "How many PCSOs cover Riverside?", answer="Twelve, from April.")
    page = new_page()
    join(page, site, world, "PC Smith")
    expect(page.get_by_text("Names that look like police officers or staff")).to_be_visible()
    expect(page.locator("#live")).not_to_have_attribute("data-kind", "resident")
    answer = page.locator(".answer", has_text="Twelve, from April.")
    expect(answer.locator(".verified")).to_have_text("✔ Verified")
    expect(answer).to_contain_text("Pat Commissioner, Police and Crime Commissioner")
    page.get_by_label("Display name (optional)").fill("Jo from Riverside")
    page.get_by_role("button", name="Join the chat").click()
    expect(page.locator("#live")).to_have_attribute("data-kind", "resident")
