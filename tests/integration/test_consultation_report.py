"""Consultation reports by theme through the console (HTML, PDF, CSV): two chats, questions and a
poll tagged with the tenant's themes, only public content, formula-safe CSV, tenant isolation."""
from __future__ import annotations

import csv
import io

from services.engagement import themes as theme_actions
from services.live import actions
from services.rooms.actions import change_state
from tenants.db import tenant_scope
from tests.support.console import admin_client

FORMULA = '=HYPERLINK("http://evil.example","click")'


def test_report_groups_public_questions_answers_and_polls_by_theme(app, app_ctx, make_world):
    first, other_tenant = make_world(), make_world()
    with tenant_scope(first.tenant.id) as tx:
        safer = theme_actions.create_theme(tx, first.admin, "Safer streets", "priority")
        precept = theme_actions.create_theme(tx, first.admin, "Precept: +£10 a year", "precept")
        from services.rooms import actions as rooms
        second_room = rooms.create_room(tx, first.admin, {"title": "Precept consultation, second evening",
                                                          "starts_at": first.room["starts_at"],
                                                          "ends_at": first.room["ends_at"], "slow_mode_seconds": 0})
        change_state(tx, first.admin, second_room["id"], "scheduled")
        change_state(tx, first.admin, second_room["id"], "live")
        from services.residents.actions import join_room
        a = join_room(tx, first.room["id"], "Jo", "192.0.2.5")
        b = join_room(tx, second_room["id"], "Sam", "192.0.2.6")
        q1 = actions.submit_question(tx, a, "More patrols on the high street?")
        q2 = actions.submit_question(tx, b, FORMULA)
        q3 = actions.submit_question(tx, b, "Why should I pay more?")
        hidden = actions.submit_question(tx, a, "Pending question about speeding")
        escalated = actions.submit_question(tx, b, "Secret safeguarding matter")
        for q in (q1, q2, q3):
            actions.approve_question(tx, first.moderator, q["id"])
        actions.answer_question(tx, first.host, q1["id"], "Two more PCSOs from June.")
        theme_actions.tag_question(tx, first.moderator, q1["id"], [safer["id"]])
        theme_actions.tag_question(tx, first.moderator, q2["id"], [safer["id"], precept["id"]])
        theme_actions.tag_question(tx, first.moderator, hidden["id"], [safer["id"]])
        theme_actions.tag_question(tx, first.moderator, escalated["id"], [precept["id"]])
        actions.escalate_question(tx, first.moderator, escalated["id"])
        poll = actions.open_poll(tx, first.host, second_room["id"], "Support a £10 rise?", "single", ["Yes", "No"], "live")
        actions.vote_in_poll(tx, b, poll["id"], [1])
        theme_actions.tag_poll(tx, first.host, poll["id"], [precept["id"]])
        for room_id in (first.room["id"], second_room["id"]):
            change_state(tx, first.host, room_id, "closed")
    client, _ = admin_client(app, first.tenant, first.admin)
    base = f"/t/{first.tenant.slug}/console/reports/themes"
    rooms = {"room": [str(first.room["id"]), str(second_room["id"])]}

    html = client.get(base, query_string=rooms).get_data(as_text=True)
    section = lambda name: html[html.index(f'data-theme="{name}"'):].split("</section>")[0]  # noqa: E731
    assert "More patrols on the high street?" in section("Safer streets")
    assert "Two more PCSOs from June." in section("Safer streets")
    assert "Support a £10 rise?" in section("Precept: +£10 a year") and "Support a £10 rise?" not in section("Safer streets")
    assert "Why should I pay more?" in section("Not themed")
    assert "HYPERLINK" in section("Safer streets") and "HYPERLINK" in section("Precept: +£10 a year")
    for never in ("Pending question about speeding", "Secret safeguarding matter"):
        assert never not in html

    pdf = client.get(f"{base}.pdf", query_string=rooms)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF") and pdf.headers["Content-Type"] == "application/pdf"

    rows = list(csv.DictReader(io.StringIO(client.get(f"{base}.csv", query_string=rooms).get_data(as_text=True))))
    formula_rows = [r for r in rows if "HYPERLINK" in r["text"]]
    assert len(formula_rows) == 2 and all(r["text"].startswith("'=") for r in formula_rows)
    poll_options = {(r["text"], r["votes"]) for r in rows if r["type"] == "poll_option"}
    assert poll_options == {("Yes", "1"), ("No", "0")}
    assert not [r for r in rows if "Secret safeguarding" in r["text"] or "speeding" in r["text"]]
    assert {r["theme"] for r in rows} == {"Safer streets", "Precept: +£10 a year", "Not themed"}
    # default (no rooms chosen): every closed chat of this tenant only
    default_rows = client.get(f"{base}.csv").get_data(as_text=True)
    assert "More patrols" in default_rows
    # another tenant's room is not found, and bad formats too
    assert client.get(base, query_string={"room": str(other_tenant.room["id"])}).status_code == 404
    assert client.get(f"{base}.xlsx").status_code == 404
