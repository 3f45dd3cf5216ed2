"""Transcripts built by a real worker when a room closes: every published question and answer,
announcements, poll results, figures; nothing pending, rejected or hidden; no personal data;
byte-identical when rebuilt; tenant-isolated; public pages and staff exports."""
from __future__ import annotations

import json
import re
import uuid
import zlib

import pytest
from flask import g

from services.live import actions as live
from services.reminders import links
from services.residents import registrations
from services.rooms import actions as room_actions
from tenants.db import tenant_scope
from tests.support.workers import wait_until
from workers import transcripts

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PUBLIC = ["Will the precept rise next year?", "It will rise by 3%.",
          "What about speeding on the High Street?", "We will run speed checks on the High Street.",
          "A published question nobody reached", "Welcome, the Commissioner is here.", "Should we fund more PCSOs?",
          "Yes, more PCSOs", "No, keep as is"]
NEVER = ["07700 900123", "A pending question never moderated", "Published and then hidden", "bob@example.org",
         "203.0.113.7"]


def pdf_text_objects(pdf: bytes) -> bytes:
    """The PDF with its compressed streams inflated, to look inside its structure."""
    out = [pdf]
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            out.append(zlib.decompress(match.group(1)))
        except zlib.error:
            pass
    return b"\n".join(out)


def _transcript(world) -> dict | None:
    with tenant_scope(world.tenant.id) as tx:
        return tx.one("select * from transcripts where room_id = %s", [world.room["id"]])


_built: dict = {}


@pytest.fixture()
def held_session(make_world, sink, worker):
    """One closed room with every kind of content, built by the worker once for this module."""
    if "session" not in _built:
        _built["session"] = _hold_session(make_world)
    return _built["session"]


def _hold_session(make_world):
    world = make_world(state="live")
    email = f"reader-{uuid.uuid4().hex[:8]}@example.org"
    alice, bob, carol = world.join("Alice"), world.join("Bob Smith"), world.join("Carol")
    room_id = world.room["id"]
    with tenant_scope(world.tenant.id) as tx:
        registration = registrations.register(tx, room_id, email)
        tx._after_commit.clear()
    with tenant_scope(world.tenant.id) as tx:
        registrations.confirm(tx, links.make_token(world.tenant.id, registration["id"], "confirm"))
    with tenant_scope(world.tenant.id) as tx:
        q1 = live.submit_question(tx, alice, "Will the precept rise next year?")
        live.approve_question(tx, world.moderator, q1["id"])
        live.answer_question(tx, world.host, q1["id"], "It will rise by 3%.")
        q2 = live.submit_question(tx, bob, "Call me on 07700 900123 about my case")
        live.reject_question(tx, world.moderator, q2["id"], "personal_data")
        live.submit_question(tx, carol, "A pending question never moderated")
        q4 = live.submit_question(tx, alice, "Published and then hidden")
        live.approve_question(tx, world.moderator, q4["id"])
        live.hide_question(tx, world.moderator, q4["id"])
        q5 = live.submit_question(tx, bob, "Email me at bob@example.org about speeding")
        live.approve_question(tx, world.moderator, q5["id"], "What about speeding on the High Street?")
        live.answer_question(tx, world.host, q5["id"], "We will run speed checks on the High Street.")
        q6 = live.submit_question(tx, carol, "A published question nobody reached")
        live.approve_question(tx, world.moderator, q6["id"])
        live.post_announcement(tx, world.host, room_id, "Welcome, the Commissioner is here.")
        poll = live.open_poll(tx, world.host, room_id, "Should we fund more PCSOs?", "single",
                              ["Yes, more PCSOs", "No, keep as is"], "after_close")
        live.vote_in_poll(tx, alice, poll["id"], [1])
        live.vote_in_poll(tx, bob, poll["id"], [1])
        live.vote_in_poll(tx, carol, poll["id"], [2])
        live.close_poll(tx, world.host, poll["id"])
        room_actions.change_state(tx, world.host, room_id, "closed")   # enqueues the build after commit
    stored = wait_until(lambda: _transcript(world), 60, 0.2, "the transcript")
    return world, stored, email


def test_transcript_has_every_published_item_and_nothing_else(app_ctx, held_session, sink):
    world, stored, email = held_session
    with tenant_scope(world.tenant.id) as tx:
        hashes = [r["network_hash"] for r in tx.all("select network_hash from participants where room_id = %s",
                                                     [world.room["id"]])]
        staff_emails = [r["email"] for r in tx.all("select email from staff_users")]
    pdf_inside = pdf_text_objects(bytes(stored["pdf"]))
    outputs = {"html": stored["html"], "text": stored["text"], "json": stored["json"], "csv": stored["csv"]}
    for name, output in outputs.items():
        for expected in PUBLIC:
            assert expected in output, (name, expected)
        for secret in NEVER + [email, *staff_emails, *filter(None, hashes)]:
            assert secret not in output, (name, secret)
        assert not EMAIL.search(output), (name, EMAIL.search(output))
    assert all(h for h in hashes)   # the hashes exist (so their absence above means something)
    assert stored["pdf"][:5] == b"%PDF-" and b"/StructTreeRoot" in pdf_inside and b"/Lang" in pdf_inside
    data = json.loads(stored["json"])
    assert [item["type"] for item in data["timeline"]] == ["question", "question", "question", "announcement", "poll"]
    assert data["timeline"][4]["options"] == [{"label": "Yes, more PCSOs", "votes": 2},
                                              {"label": "No, keep as is", "votes": 1}]
    figures = data["figures"]
    assert (figures["participants"], figures["questions_received"], figures["questions_published"],
            figures["questions_rejected"], figures["questions_hidden"], figures["questions_not_reached"],
            figures["questions_answered"]) == (3, 6, 3, 1, 1, 1, 2)
    assert figures["rejected_by_reason"] == {"personal_data": 1} and figures["median_seconds_to_answer"] >= 0
    assert "Questions received</th><td>6" in stored["html"]
    [ready] = sink.wait_for(email)   # registrants are told
    assert ready.subject == f'The transcript of "{world.room["title"]}" is ready'
    assert f"/rooms/{world.room['id']}/transcript" in ready.text()


def test_rebuilding_gives_byte_identical_output(app_ctx, held_session):
    world, stored, _ = held_session
    assert transcripts.build_transcript.run(str(world.tenant.id), str(world.room["id"])) == "stored"
    again = _transcript(world)
    assert again["generation"] == stored["generation"] + 1
    for column in ("html", "text", "json", "csv", "pdf", "digest"):
        assert again[column] == stored[column], column


def test_a_task_given_another_tenants_ids_does_nothing(app_ctx, held_session, make_tenant):
    world, _, _ = held_session
    before = _transcript(world)["generation"]
    other = make_tenant()
    assert transcripts.build_transcript.run(str(other.id), str(world.room["id"])) == "not closed"
    assert transcripts.build_transcript.run("not-a-uuid", str(world.room["id"])) == "bad ids"
    assert _transcript(world)["generation"] == before
    with tenant_scope(other.id) as tx:
        assert tx.value("select count(*) from transcripts") == 0


def test_public_pages_and_staff_exports(app_ctx, held_session, client, signed_in, make_world):
    world, stored, _ = held_session
    base = f"/t/{world.tenant.slug}/rooms/{world.room['id']}"
    page = client.get(base).get_data(as_text=True)
    assert "Read the transcript" in page
    html = client.get(f"{base}/transcript")
    assert html.status_code == 200 and "Will the precept rise next year?" in html.get_data(as_text=True)
    text = client.get(f"{base}/transcript.txt")
    assert text.headers["Content-Type"].startswith("text/plain") and text.get_data(as_text=True) == stored["text"]
    pdf = client.get(f"{base}/transcript.pdf")
    assert pdf.headers["Content-Type"] == "application/pdf" and pdf.data == bytes(stored["pdf"])
    export = f"/t/{world.tenant.slug}/console/rooms/{world.room['id']}/transcript.csv"
    assert client.get(export).status_code == 302   # staff only: sign in first
    g.pop("staff", None)   # requests share the test's app context, so `g` keeps the anonymous visitor
    signed_in(world.tenant, world.moderator)
    csv_export = client.get(export)
    assert csv_export.status_code == 200 and csv_export.get_data(as_text=True) == stored["csv"]
    assert "attachment" in csv_export.headers["Content-Disposition"]
    assert json.loads(client.get(export.replace(".csv", ".json")).data)["room"]["title"] == world.room["title"]
    live_room = make_world(state="live")
    missing = client.get(f"/t/{live_room.tenant.slug}/rooms/{live_room.room['id']}/transcript")
    assert missing.status_code == 404 and "not ready yet" in missing.get_data(as_text=True)
    assert client.get(f"/t/{live_room.tenant.slug}/rooms/{world.room['id']}/transcript").status_code == 404
