"""The live webchat through real live processes, real Socket.IO clients, PostgreSQL and Redis."""
from __future__ import annotations

import pytest

from services.live import actions
from tenants.db import tenant_scope


def test_question_flows_across_two_live_processes_in_order(app_ctx, make_world, live_pair, clients):
    p1, p2 = live_pair
    world = make_world()
    last = world.room["last_seq"]
    alice, bob = world.join("Alice"), world.join("Bob")
    r1 = clients(p1.url, world.resident_token(alice), last_seq=last)
    r2 = clients(p2.url, world.resident_token(bob), last_seq=last)
    moderator = clients(p2.url, world.staff_token(world.moderator), last_seq=last, staff_last_seq=0)
    host = clients(p1.url, world.staff_token(world.host), last_seq=last, staff_last_seq=0)

    reply = r1.call("ask", {"body": "Will the precept rise next year?"})
    assert reply["ok"] is True
    submitted = moderator.wait_for(lambda: moderator.events_of("question.submitted", "staff"))
    assert submitted[0]["data"]["body"] == "Will the precept rise next year?"
    assert r1.wait_for(lambda: r1.my_questions)[0]["status"] == "pending"

    assert moderator.call("approve", {"question_id": reply["id"]})["ok"] is True
    for resident in (r1, r2):
        resident.wait_for(lambda r=resident: r.events_of("question.published"))
    assert host.call("answer", {"question_id": reply["id"], "body": "It will rise by 3%."})["ok"] is True
    for resident in (r1, r2):
        answered = resident.wait_for(lambda r=resident: r.events_of("question.answered"))
        assert answered[0]["data"]["body"] == "It will rise by 3%."
        assert answered[0]["data"]["by"] == "Pat Commissioner" and answered[0]["data"]["verified"] is True
        types = [e["type"] for e in resident.room_events]
        assert types == ["question.published", "question.answered"]
        assert resident.seqs() == sorted(resident.seqs()) and len(set(resident.seqs())) == len(resident.seqs())


def test_reconnecting_resident_gets_exactly_the_missed_events(app_ctx, make_world, live_pair, clients):
    world = make_world()
    resident = world.join("Casey")
    first = clients(live_pair[0].url, world.resident_token(resident), last_seq=world.room["last_seq"])
    with tenant_scope(world.tenant.id) as tx:
        actions.post_announcement(tx, world.host, world.room["id"], "Welcome, everyone.")
    first.wait_for(lambda: first.room_events)
    seen = first.seqs()[-1]
    first.disconnect()
    with tenant_scope(world.tenant.id) as tx:
        for text in ("Second", "Third", "Fourth"):
            actions.post_announcement(tx, world.host, world.room["id"], text)
    again = clients(live_pair[1].url, world.resident_token(resident), last_seq=seen)
    replay = again.wait_for(lambda: len(again.room_events) >= 3 and again.room_events)
    assert [e["data"]["body"] for e in replay] == ["Second", "Third", "Fourth"]
    assert [e["seq"] for e in replay] == [seen + 1, seen + 2, seen + 3]


def test_resume_fills_a_gap_on_request(app_ctx, make_world, live_pair, clients):
    world = make_world()
    with tenant_scope(world.tenant.id) as tx:
        for text in ("One", "Two", "Three"):
            actions.post_announcement(tx, world.host, world.room["id"], text)
    viewer = clients(live_pair[0].url, world.token("viewer"), last_seq=None)
    reply = viewer.call("resume", {"after": world.room["last_seq"] + 1})
    assert [e["data"]["body"] for e in reply["events"]] == ["Two", "Three"]


def test_pending_and_rejected_questions_never_reach_other_residents(app_ctx, make_world, live_pair, clients, client):
    world = make_world()
    author, other = world.join("Author"), world.join("Other")
    watcher = clients(live_pair[1].url, world.resident_token(other), last_seq=world.room["last_seq"])
    asker = clients(live_pair[0].url, world.resident_token(author), last_seq=world.room["last_seq"])
    pending = asker.call("ask", {"body": "A question still waiting"})
    rejected = asker.call("ask", {"body": "An off-topic question"})
    moderator = clients(live_pair[0].url, world.staff_token(world.moderator), staff_last_seq=0)
    assert moderator.call("reject", {"question_id": rejected["id"], "reason": "off_topic"})["ok"]
    private = asker.wait_for(lambda: [m for m in asker.private if m["kind"] == "rejected"])
    assert "not about the subject" in private[0]["body"]
    assert asker.wait_for(lambda: [q for q in asker.my_questions if q["status"] == "rejected"])
    # a published one afterwards proves the watcher was listening all along
    published = asker.call("ask", {"body": "A fine question"})
    moderator.call("approve", {"question_id": published["id"]})
    watcher.wait_for(lambda: watcher.events_of("question.published"))
    bodies = [e["data"].get("body") for e in watcher.room_events]
    assert bodies == ["A fine question"]
    page = client.get(f"/t/{world.tenant.slug}/rooms/{world.room['id']}").get_data(as_text=True)
    assert "A fine question" in page
    assert "still waiting" not in page and "off-topic" not in page
    assert pending["ok"]


def test_emergency_wording_gets_instant_private_guidance(app_ctx, make_world, live_pair, clients):
    world = make_world()
    resident = world.join()
    rc = clients(live_pair[0].url, world.resident_token(resident))
    reply = rc.call("ask", {"body": "Someone is breaking in to my house help me now"})
    assert reply["ok"]
    message = rc.wait_for(lambda: rc.private)[0]
    assert message["kind"] == "emergency" and "999" in message["body"]


@pytest.mark.parametrize("payload, message", [
    ({"body": ""}, "between 1 and 1000"),
    ({"body": "x" * 5000}, "between 1 and 1000"),
    ({}, "required"),
    ("not an object", "object"),
    ({"body": ["a list"]}, "Not a valid string"),
])
def test_bad_questions_are_refused_with_a_clear_message_and_change_nothing(app_ctx, make_world, live_pair, clients,
                                                                            payload, message):
    world = make_world()
    resident = world.join()
    rc = clients(live_pair[0].url, world.resident_token(resident))
    reply = rc.call("ask", payload)
    assert reply["ok"] is False and message in reply["message"]
    with tenant_scope(world.tenant.id) as tx:
        assert tx.value("select count(*) from questions") == 0
        assert tx.value("select count(*) from staff_events") == 0


def test_closed_room_refuses_questions(app_ctx, make_world, live_pair, clients):
    world = make_world(state="live")
    resident = world.join()
    rc = clients(live_pair[0].url, world.resident_token(resident))
    with tenant_scope(world.tenant.id) as tx:
        from services.rooms.actions import change_state
        change_state(tx, world.host, world.room["id"], "closed")
    reply = rc.call("ask", {"body": "Too late?"})
    assert reply["ok"] is False and "not taking questions" in reply["message"]


def test_votes_and_polls_are_one_per_resident(app_ctx, make_world, live_pair, clients):
    world = make_world()
    resident = world.join()
    rc = clients(live_pair[0].url, world.resident_token(resident))
    host = clients(live_pair[1].url, world.staff_token(world.host), staff_last_seq=0)
    question = rc.call("ask", {"body": "Question to vote on"})
    host.call("approve", {"question_id": question["id"]})
    assert rc.call("vote", {"question_id": question["id"]})["ok"]
    again = rc.call("vote", {"question_id": question["id"]})
    assert again["ok"] is False and "already voted" in again["message"]

    poll = host.call("poll_open", {"prompt": "Should the precept rise?", "options": ["Yes", "No"]})
    assert poll["ok"]
    assert rc.call("poll_vote", {"poll_id": poll["id"], "option_ids": [1]})["ok"]
    twice = rc.call("poll_vote", {"poll_id": poll["id"], "option_ids": [2]})
    assert twice["ok"] is False and "already voted" in twice["message"]
    results = rc.wait_for(lambda: rc.events_of("poll.results"))
    assert results[-1]["data"]["counts"][0]["votes"] == 1
    assert host.call("poll_close", {"poll_id": poll["id"]})["ok"]
    other = world.join()
    late = clients(live_pair[0].url, world.resident_token(other))
    closed = late.call("poll_vote", {"poll_id": poll["id"], "option_ids": [1]})
    assert closed["ok"] is False and "closed" in closed["message"]
    bad_option = late.call("poll_vote", {"poll_id": poll["id"], "option_ids": [99]})
    assert bad_option["ok"] is False


def test_a_resident_cannot_use_staff_events(app_ctx, make_world, live_pair, clients):
    world = make_world()
    resident = world.join()
    rc = clients(live_pair[0].url, world.resident_token(resident))
    question = rc.call("ask", {"body": "Approve myself?"})
    reply = rc.call("approve", {"question_id": question["id"]})
    assert reply["ok"] is False and reply["error"] == "forbidden"
    with tenant_scope(world.tenant.id) as tx:
        assert tx.value("select status from questions where id = %s", [question["id"]]) == "pending"


def test_staff_of_another_tenant_cannot_approve(app_ctx, make_world, live_pair, clients):
    victim, attacker = make_world(), make_world()
    resident = victim.join()
    rc = clients(live_pair[0].url, victim.resident_token(resident))
    question = rc.call("ask", {"body": "Victim tenant's question"})
    intruder = clients(live_pair[1].url, attacker.staff_token(attacker.moderator), staff_last_seq=0)
    reply = intruder.call("approve", {"question_id": question["id"]})
    assert reply["ok"] is False and reply["error"] == "not_found"
    assert intruder.staff_events == []
    with tenant_scope(victim.tenant.id) as tx:
        assert tx.value("select status from questions where id = %s", [question["id"]]) == "pending"


def test_a_token_for_another_tenants_room_is_refused(app_ctx, make_world, live_pair):
    from services.live.tokens import LiveIdentity, make_token
    from tests.support.live_client import LiveClient
    import socketio

    victim, attacker = make_world(), make_world()
    forged = make_token(LiveIdentity(attacker.tenant.id, victim.room["id"], "staff", attacker.moderator.id))
    with pytest.raises(socketio.exceptions.ConnectionError):
        LiveClient(live_pair[0].url, forged).connect()
    with pytest.raises(socketio.exceptions.ConnectionError):
        LiveClient(live_pair[0].url, "not-a-token").connect()


def test_html_in_a_question_is_shown_escaped(app_ctx, make_world, live_pair, clients, client):
    world = make_world()
    resident = world.join()
    rc = clients(live_pair[0].url, world.resident_token(resident))
    q = rc.call("ask", {"body": "<script>alert(1)</script><b>bold</b>"})
    with tenant_scope(world.tenant.id) as tx:
        actions.approve_question(tx, world.moderator, q["id"])
    page = client.get(f"/t/{world.tenant.slug}/rooms/{world.room['id']}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
