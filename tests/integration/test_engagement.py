"""Police-grade engagement in the live slice: questions in advance, answers after the chat,
moderation transparency, brigading signals."""
from __future__ import annotations

import re

import pytest

from services.live import actions
from services.rooms.actions import change_state
from tenants.db import tenant_scope
from tenants.errors import Conflict


def ask(world, participant, body):
    with tenant_scope(world.tenant.id) as tx:
        return actions.submit_question(tx, participant, body)


def test_questions_in_advance_wait_until_the_chat_is_live(app_ctx, make_world):
    world = make_world(state="scheduled")
    resident = world.join()
    question = ask(world, resident, "Asked the day before")
    assert question["asked_in_advance"] is True and question["status"] == "pending"
    with pytest.raises(Conflict, match="once the chat is live"):
        with tenant_scope(world.tenant.id) as tx:
            actions.approve_question(tx, world.moderator, question["id"])
    with tenant_scope(world.tenant.id) as tx:
        change_state(tx, world.host, world.room["id"], "live")
        published = actions.approve_question(tx, world.moderator, question["id"])
    assert published["status"] == "published" and published["asked_in_advance"]


def test_answers_written_after_the_close_are_marked(app_ctx, make_world, client):
    world = make_world()
    resident = world.join()
    question = ask(world, resident, "Not reached in time")
    with tenant_scope(world.tenant.id) as tx:
        actions.approve_question(tx, world.moderator, question["id"])
        change_state(tx, world.host, world.room["id"], "closed")
        actions.answer_question(tx, world.host, question["id"], "Written reply after the chat.")
    with tenant_scope(world.tenant.id) as tx:   # the event log is written at COMMIT
        event = tx.one("select data from room_events where room_id = %s and type = 'question.answered'",
                       [world.room["id"]])
    assert event["data"]["after_chat"] is True
    page = client.get(f"/t/{world.tenant.slug}/rooms/{world.room['id']}").get_data(as_text=True)
    answer_html = page[page.index("Written reply after the chat.") - 600:page.index("Written reply after the chat.")]
    assert re.search(r'data-field="after-chat"\s*>answered after the chat', answer_html)


def test_published_moderation_counts_equal_the_database(app_ctx, make_world, client):
    world = make_world()
    residents = [world.join() for _ in range(3)]
    decisions = ["publish", "publish", "operational", "offensive", "offensive", "duplicate", "pending"]
    with tenant_scope(world.tenant.id) as tx:
        for i, decision in enumerate(decisions):
            q = actions.submit_question(tx, residents[i % 3], f"Question number {i}")
            if decision == "publish":
                actions.approve_question(tx, world.moderator, q["id"])
                if i == 0:
                    actions.answer_question(tx, world.host, q["id"], "Answered.")
            elif decision != "pending":
                actions.reject_question(tx, world.moderator, q["id"], decision)
        truth = tx.one("select count(*) as received, count(*) filter (where status = 'published') as published,"
                       " count(*) filter (where status = 'rejected') as rejected from questions where room_id = %s",
                       [world.room["id"]])
    page = client.get(f"/t/{world.tenant.slug}/rooms/{world.room['id']}").get_data(as_text=True)

    def shown(name):
        return int(re.search(rf'data-count="{name}">(\d+)<', page).group(1))

    assert (shown("received"), shown("published"), shown("rejected"), shown("answered")) == \
        (truth["received"], truth["published"], truth["rejected"], 1) == (7, 2, 4, 1)
    assert re.search(r'data-reason="offensive">Offensive: 2<', page)
    assert re.search(r'data-reason="operational">Operational matter for the force: 1<', page)
    assert re.search(r'data-reason="duplicate">Duplicate: 1<', page)


def test_a_burst_of_votes_from_one_network_is_shown_to_moderators(app_ctx, make_world):
    from services.residents.actions import join_room

    world = make_world()
    author = world.join()
    question = ask(world, author, "Popular question")
    with tenant_scope(world.tenant.id) as tx:
        actions.approve_question(tx, world.moderator, question["id"])
        voters = [join_room(tx, world.room["id"], None, "198.51.100.20") for _ in range(6)]
        for voter in voters:
            actions.upvote_question(tx, voter, question["id"])
        other = join_room(tx, world.room["id"], None, "192.0.2.99")
        actions.upvote_question(tx, other, question["id"])
    with tenant_scope(world.tenant.id) as tx:   # the event log is written at COMMIT
        bursts = tx.all("select data from staff_events where room_id = %s and type = 'votes.burst'", [world.room["id"]])
        votes = tx.value("select vote_count from questions where id = %s", [question["id"]])
    assert votes == 7  # counted, not silently dropped
    assert len(bursts) == 1 and bursts[0]["data"]["question_id"] == str(question["id"])
