"""Theme suggestions for a closed chat (moderator assist): suggested by the worker's job,
nothing tagged until staff accept in bulk, a killed run finished by the next without doubles,
"what else residents raised" in the report, and bad input answered clearly."""
from __future__ import annotations

import pytest

from services.assist import suggestions
from services.engagement import themes
from services.live import actions
from services.residents.actions import join_room
from services.rooms.actions import change_state
from tenants.db import tenant_scope
from tests.support.console import admin_client

QUESTIONS = ["Cars speed through our village all the time, can we get speed checks?",
             "What are police doing about drivers using phones at the wheel?",
             "What is being done about antisocial behaviour in the town centre at night?",
             "Kids are throwing fireworks at buses and cars, what is being done?",
             "When will the bins be collected on time?",
             "why are the bins never collected on time"]


def _closed_chat(world):
    with tenant_scope(world.tenant.id) as tx:
        road = themes.create_theme(tx, world.admin, "Road safety and speeding", "priority")
        asb = themes.create_theme(tx, world.admin, "Antisocial behaviour", "priority")
    asked = []
    for n, body in enumerate(QUESTIONS):
        with tenant_scope(world.tenant.id) as tx:
            resident = join_room(tx, world.room["id"], f"Resident {n}", f"192.0.2.{n + 10}")
            q = actions.submit_question(tx, resident, body)
            if q["status"] == "pending":
                actions.approve_question(tx, world.moderator, q["id"])
            asked.append(q)
    with tenant_scope(world.tenant.id) as tx:
        change_state(tx, world.host, world.room["id"], "closed")
    return road, asb, asked


def test_suggestions_wait_for_a_click_and_accepting_tags_in_bulk(app, app_ctx, make_world):
    world = make_world()
    road, asb, asked = _closed_chat(world)
    assert suggestions.suggest_for_room(world.tenant.id, world.room["id"]) == "suggested"
    with tenant_scope(world.tenant.id) as tx:
        rows = suggestions.list_suggestions(tx, world.room["id"])
        assert tx.value("select count(*) from question_themes") == 0          # nothing tagged yet
    by_question = {r["body"]: r["theme"] for r in rows}
    assert by_question[QUESTIONS[0]] == "Road safety and speeding"
    assert by_question[QUESTIONS[2]] == "Antisocial behaviour"

    client, _ = admin_client(app, world.tenant, world.admin)
    page = f"/t/{world.tenant.slug}/console/rooms/{world.room['id']}/theme-suggestions"
    html = client.get(page).get_data(as_text=True)
    assert QUESTIONS[0] in html and "Accept ticked suggestions" in html
    chosen = [str(r["id"]) for r in rows if r["theme"] == "Road safety and speeding"]
    others = [str(r["id"]) for r in rows if r["theme"] != "Road safety and speeding"]
    assert client.post(page, data={"decision": "accept", "suggestion_ids": chosen}).status_code == 302
    if others:
        assert client.post(page, data={"decision": "reject", "suggestion_ids": others}).status_code == 302
    with tenant_scope(world.tenant.id) as tx:
        tagged = tx.all("select question_id, theme_id, tagged_by from question_themes")
        assert {r["theme_id"] for r in tagged} == {road["id"]} and len(tagged) == len(chosen)
        assert all(r["tagged_by"] == world.admin.id for r in tagged)
        assert tx.value("select count(*) from theme_suggestions where state = 'suggested'") == 0
        assert tx.value("select count(*) from audit_log where action like 'theme_suggestions.%%'") == (2 if others else 1)
    again = client.post(page, data={"decision": "accept", "suggestion_ids": chosen})
    assert again.status_code == 409 or "already decided" in again.get_data(as_text=True)

    report = client.get(f"/t/{world.tenant.slug}/console/reports/themes",
                        query_string={"room": str(world.room["id"])}).get_data(as_text=True)
    assert "What else residents raised" in report
    raised = report[report.index("What else residents raised"):]
    assert "bins" in raised and "(2 questions)" in raised
    # a second run never re-suggests for a question already suggested (decided or not)
    assert suggestions.suggest_for_room(world.tenant.id, world.room["id"]) == "suggested"
    with tenant_scope(world.tenant.id) as tx:
        fresh = {r["question_id"] for r in suggestions.list_suggestions(tx, world.room["id"])}
    assert not fresh & {r["question_id"] for r in rows}


def test_a_run_killed_part_way_is_finished_by_the_next_without_doubles(app_ctx, make_world, monkeypatch):
    world = make_world()
    _closed_chat(world)
    with tenant_scope(world.tenant.id) as tx:   # as if the live path had never embedded them
        tx.execute("delete from question_embeddings")
    monkeypatch.setattr(suggestions, "BATCH", 2)

    def killed(batch):
        if batch == 1:
            raise SystemExit("worker killed")
    with pytest.raises(SystemExit):
        suggestions.suggest_for_room(world.tenant.id, world.room["id"], after_batch=killed)
    with tenant_scope(world.tenant.id) as tx:
        part = tx.value("select count(*) from question_embeddings")
        assert part == 2
    assert suggestions.suggest_for_room(world.tenant.id, world.room["id"]) == "suggested"
    with tenant_scope(world.tenant.id) as tx:
        assert tx.value("select count(*) from question_embeddings") == len(QUESTIONS)
        counts = tx.all("select question_id, count(*) as n from theme_suggestions group by question_id")
        assert counts and all(r["n"] == 1 for r in counts)


def test_only_a_closed_chat_gets_suggestions_and_bad_input_is_refused_clearly(app, app_ctx, make_world):
    world = make_world()
    assert suggestions.suggest_for_room(world.tenant.id, world.room["id"]) == "not closed"
    client, _ = admin_client(app, world.tenant, world.admin)
    page = f"/t/{world.tenant.slug}/console/rooms/{world.room['id']}/theme-suggestions"
    for data in ({}, {"decision": "accept"}, {"decision": "accept", "suggestion_ids": ""},
                 {"decision": "accept", "suggestion_ids": "x" * 10_000}, {"decision": "x" * 10_000, "suggestion_ids": "y"}):
        response = client.post(page, data=data)
        assert response.status_code == 400, (data, response.status_code)
        assert "There is a problem" in response.get_data(as_text=True)
    missing = client.post(page, data={"decision": "accept", "suggestion_ids": "00000000-0000-4000-8000-000000000000"})
    assert missing.status_code == 404
    run = client.post(f"{page}/run")
    assert run.status_code == 302
    assert "once the chat has closed" in client.get(page).get_data(as_text=True)
