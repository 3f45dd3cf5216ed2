"""A resident reading in Welsh gets validation messages in Welsh, without English or field names:
on the room page's forms (register, ask), the embed, the "Your data" page and over the live socket,
whose refusals of a connection are Welsh too."""
from __future__ import annotations

import json
import re
import signal
import socket
import uuid
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale
from werkzeug.exceptions import default_exceptions

from services.app import create_app
from services.lib.validation import load
from services.live.schemas import AskSchema
from services.live import actions as live_actions
from services.live.tokens import LiveIdentity, make_token
from services.rooms.actions import delete_room
from tenants.db import tenant_scope
from tenants.errors import RateLimited, ValidationFailed
from tests.support.i18n import text_nodes
from tests.support.live_client import LiveClient, close_all, raw_ws
from tests.support.servers import start_server
from tests.support.workers import wait_until
from tests.support.worlds import another_room, build_world, make_tenant

ENGLISH = ("Enter an email address", "Enter your email", "A question must be", "Choose what you would like",
           "Length must be", "Longer than", "Missing data", "email:", "body:", "kind:", "option_ids:")


def welsh_world(app):
    # no app context held across requests, so one request's language is not remembered for the next
    with app.app_context():
        return build_world(tenant=make_tenant(settings={"languages": ["en", "cy"]}))


def shown(response) -> str:
    html = response.get_data(as_text=True).replace("&#39;", "'")
    assert '<html lang="cy">' in html
    assert not [e for e in ENGLISH if e in html], [e for e in ENGLISH if e in html]
    return html


def test_the_room_page_forms_and_the_embed_answer_in_welsh(app, client):
    world = welsh_world(app)
    room = f"/t/{world.tenant.slug}/rooms/{world.room['id']}"
    client.get(f"{room}?lang=cy")

    bad_email = shown(client.post(f"{room}/register", data={"email": "not an email", "language": "cy"},
                                  follow_redirects=True))
    assert "Rhowch gyfeiriad e-bost fel enw@example.com." in bad_email
    assert "Rhowch eich cyfeiriad e-bost." in shown(client.post(f"{room}/register", data={"language": "cy"},
                                                                follow_redirects=True))

    client.post(f"{room}/join", data={"display_name": "Gwen"})
    empty = shown(client.post(f"{room}/questions", data={"body": ""}, follow_redirects=True))
    assert "Rhaid i gwestiwn fod rhwng 1 a 1000 nod." in empty

    embed = app.test_client()
    joined = shown(embed.post(f"{room}/embed/join?lang=cy", data={"display_name": "Gwen"}))
    token = re.search(r'name="live_token" value="([^"]+)"', joined).group(1)
    asked = shown(embed.post(f"{room}/embed/ask?lang=cy", data={"live_token": token, "body": ""}))
    assert "Rhaid i gwestiwn fod rhwng 1 a 1000 nod." in asked


def test_the_your_data_page_answers_in_welsh(app, client):
    world = welsh_world(app)
    page = f"/t/{world.tenant.slug}/your-data"
    client.get(f"{page}?lang=cy")
    assert "Rhowch gyfeiriad e-bost fel enw@example.com." in shown(client.post(page, data={"email": "nope",
                                                                                          "kind": "access"}))
    assert "Dewiswch beth yr hoffech i ni ei wneud." in shown(client.post(page, data={"email": "gwen@example.com"}))


def test_questions_and_poll_answers_over_the_live_socket_are_refused_in_welsh(app, live_pair):
    world = welsh_world(app)
    with app.app_context():
        resident = world.join("Gwen")
        with tenant_scope(world.tenant.id) as tx:
            poll = live_actions.open_poll(tx, world.host, world.room["id"], "Pa noson?", "multiple",
                                          ["Dydd Mawrth", "Dydd Iau"], "live")
        token = make_token(LiveIdentity(world.tenant.id, world.room["id"], "resident", resident["id"], "cy"))
    client = LiveClient(live_pair[0].url, token).connect()
    try:
        asked = client.call("ask", {"body": ""})
        assert asked["ok"] is False and asked["message"] == "Rhaid i gwestiwn fod rhwng 1 a 1000 nod."
        voted = client.call("poll_vote", {"poll_id": str(poll["id"]), "option_ids": []})
        assert voted["ok"] is False and voted["message"] == "Dewiswch rhwng 1 a 10 opsiwn."
    finally:
        client.disconnect()


def test_a_schema_built_once_answers_each_reader_in_their_language(app):
    """Each schema class is built once per process (services/lib/validation.py): its messages stay
    lazy, so the one instance answers English, then Welsh, then English again."""
    said = []
    with app.test_request_context("/"):
        for lang in ("en", "cy", "en"):
            with force_locale(lang), pytest.raises(ValidationFailed) as caught:
                load(AskSchema, {"body": ""})
            said.append(str(caught.value.sentence))
    english = "A question must be between 1 and 1000 characters."
    assert said == [english, "Rhaid i gwestiwn fod rhwng 1 a 1000 nod.", english]


def refused(ws, auth: dict) -> dict:
    """Socket.IO's CONNECT with `auth` on an open Engine.IO socket: the refusal's message and data."""
    ws.send("40" + json.dumps(auth))
    reply = ws.recv()
    assert reply.startswith("44"), reply
    return json.loads(reply[2:])


def test_the_live_server_refuses_a_connection_in_the_pages_language(app, env, tmp_path):
    world = welsh_world(app)
    with app.app_context():
        welsh = make_token(LiveIdentity(world.tenant.id, world.room["id"], "viewer", None, "cy"))
    live = start_server("live", env, tmp_path, extra_env={"LIVE_CONNECTIONS_PER_IP": "2", "LIVE_DRAIN_SECONDS": "10"})
    sockets = []

    def opened():
        sockets.append(raw_ws(live.url))
        return sockets[-1]
    try:
        # a token that is not valid says nothing: the page's own word for its language, if it is one of ours
        assert refused(opened(), {"token": "expired", "lang": "cy"}) == {
            "message": "Mae eich sesiwn wedi dod i ben: ail-lwythwch y dudalen i ailgysylltu."}
        for lang in ("en-GB", "xx", ["cy"], None):
            assert refused(opened(), {"token": "expired", "lang": lang}) == {
                "message": "Your session has expired: reload the page to reconnect."}

        held = [opened() for _ in range(2)]   # the network's limit, filled
        for ws in held:
            ws.send("40" + json.dumps({"token": welsh}))
            assert ws.recv().startswith("40")
        assert refused(opened(), {"token": welsh, "lang": "en"}) == {   # the token's language wins
            "message": "Mae gormod o gysylltiadau o'ch rhwydwaith. Caewch rai tabiau, neu rhowch gynnig arall "
                       "arni ymhen ychydig funudau."}

        # opened before SIGTERM, so in the drain's last batch: still open, and refused, for a few seconds
        last = [opened() for _ in range(8)][-1]
        live.proc.send_signal(signal.SIGTERM)
        wait_until(lambda: not listening(live.port), 5, message="the draining process to stop listening")
        assert refused(last, {"token": welsh}) == {
            "message": "Mae'r gweinydd hwn yn ailgychwyn: yn ailgysylltu.", "data": {"retry": True}}
    finally:
        for ws in sockets:
            ws.close()
        live.stop()


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


LIVE_MESSAGES = {   # English: Welsh, for everything the live server can answer a resident's page with
    "We could not find that chat.": "Nid oedd modd i ni ddod o hyd i'r sgwrs honno.",
    "Join the chat again to take part.": "Ymunwch â'r sgwrs eto i gymryd rhan.",
    "That action does not exist.": "Nid yw'r weithred honno'n bodoli.",
    "Send one object of fields.": "Anfonwch un gwrthrych o feysydd.",
    "You cannot do that here.": "Ni allwch wneud hynny yma.",
    "You are sending too much too quickly. Wait a moment.": "Rydych yn anfon gormod yn rhy gyflym. Arhoswch eiliad.",
}


@pytest.mark.parametrize("lang", ["cy", "en"])
def test_the_live_server_refuses_joins_and_events_in_the_connections_language(app, env, tmp_path, lang):
    world = welsh_world(app)
    said = LIVE_MESSAGES.__getitem__ if lang == "cy" else str
    with app.app_context():
        draft = another_room(world, "draft")
        stranger = another_room(world).join("Sion")   # a participant of another room

        def token(room_id, kind="resident", subject_id=None):
            return make_token(LiveIdentity(world.tenant.id, room_id, kind, subject_id, lang))
        resident = token(world.room["id"], subject_id=world.join("Gwen")["id"])
        refusals = {"We could not find that chat.": [token(uuid.uuid4()), token(draft.room["id"])],
                    "Join the chat again to take part.": [token(world.room["id"], subject_id=stranger["id"])]}
        viewer = token(world.room["id"], "viewer")
    live = start_server("live", env, tmp_path, extra_env={"LIVE_EVENTS_PER_SECOND": "1"})
    clients = []
    try:
        for english, tokens in refusals.items():
            for refused_token in tokens:
                ws = raw_ws(live.url)
                try:
                    assert refused(ws, {"token": refused_token}) == {"message": said(english)}
                finally:
                    ws.close()

        clients += [LiveClient(live.url, resident).connect(), LiveClient(live.url, viewer).connect()]
        gwen, watching = clients
        assert gwen.call("no_such_event", {}) == {"ok": False, "error": "unknown_event",
                                                  "message": said("That action does not exist.")}
        assert gwen.call("ask", ({"body": "one"}, {"body": "two"})) == {
            "ok": False, "error": "invalid", "message": said("Send one object of fields.")}
        for cannot in (watching.call("ask", {"body": "Pryd?"}), gwen.call("approve", {})):
            assert cannot == {"ok": False, "error": "forbidden", "message": said("You cannot do that here.")}
        replies = [gwen.call("ask", {"body": ""}) for _ in range(6)]   # a budget of 3 events, refilled at 1 a second
        assert replies[-1] == {"ok": False, "error": "rate_limited", "details": {"retry_after": 1},
                               "message": said("You are sending too much too quickly. Wait a moment.")}
    finally:
        close_all(clients, "disconnect")
        live.stop()


ERROR_PAGES = {   # English: Welsh, for the error pages a resident can meet
    "We could not find that page.": "Nid oedd modd i ni ddod o hyd i'r dudalen honno.",
    "We could not find that chat.": "Nid oedd modd i ni ddod o hyd i'r sgwrs honno.",
    "This form has expired. Go back, reload the page and try again.":
        "Mae'r ffurflen hon wedi dod i ben. Ewch yn ôl, ail-lwythwch y dudalen a rhowch gynnig arall arni.",
    "Too many registrations from your connection. Please try again later.":
        "Gormod o gofrestriadau o'ch cysylltiad. Rhowch gynnig arall arni yn nes ymlaen.",
    "Something went wrong on our side. Please try again.":
        "Aeth rhywbeth o'i le ar ein hochr ni. Rhowch gynnig arall arni.",
}


@pytest.fixture(scope="module")
def csrf_app(config):
    app = create_app(config, process="web")
    app.config.update(TESTING=True)   # WTF_CSRF_ENABLED stays on, as in production
    return app


@pytest.mark.parametrize("lang", ["cy", "en"])
def test_error_pages_are_in_the_readers_language(app, csrf_app, lang):
    world = welsh_world(app)
    room = f"/t/{world.tenant.slug}/rooms/{world.room['id']}"
    browser, posting = app.test_client(), csrf_app.test_client()

    def page(response, status: int, english: str) -> str:
        html = response.get_data(as_text=True).replace("&#39;", "'")
        assert response.status_code == status and f'<html lang="{"cy" if lang == "cy" else "en-GB"}">' in html
        assert (ERROR_PAGES[english] if lang == "cy" else english) in html
        assert lang == "en" or not [e for e in ERROR_PAGES if e in html]
        return html

    page(browser.get(f"/t/{world.tenant.slug}/no-such-page?lang={lang}"), 404, "We could not find that page.")
    page(browser.get(f"/t/{world.tenant.slug}/rooms/{uuid.uuid4()}?lang={lang}"), 404, "We could not find that chat.")
    page(posting.post(f"{room}/join?lang={lang}", data={"display_name": "Gwen"}), 400,
         "This form has expired. Go back, reload the page and try again.")
    with app.test_request_context(f"{room}?lang={lang}"):   # raised where a view does not catch it
        limited = app.handle_user_exception(RateLimited(
            "Too many registrations from your connection. Please try again later.", retry_after=30))
        assert limited.headers["Retry-After"] == "30"
        page(limited, 429, "Too many registrations from your connection. Please try again later.")
        page(app.handle_user_exception(RuntimeError("boom")), 500, "Something went wrong on our side. Please try again.")


def test_the_api_keeps_its_english_errors(app, client):
    world = welsh_world(app)
    missing = client.get(f"/t/{world.tenant.slug}/api/v1/no-such-thing?lang=cy", headers={"Accept-Language": "cy"})
    assert missing.status_code == 404 and missing.get_json()["message"] == "We could not find that page."


@pytest.mark.parametrize("lang", ["cy", "en"])
def test_a_bad_resume_is_refused_in_the_connections_language_without_the_field_name(app, live_pair, lang):
    world = welsh_world(app)
    with app.app_context():
        token = make_token(LiveIdentity(world.tenant.id, world.room["id"], "resident", world.join("Gwen")["id"], lang))
    client = LiveClient(live_pair[0].url, token).connect()
    try:
        said = {"cy": "Nid oedd modd i ni ddal i fyny â'r sgwrs. Ail-lwythwch y dudalen.",
                "en": "We could not catch up with the chat. Reload the page."}[lang]
        for bad in ({}, {"after": -1}, {"after": "soon"}, {"stream": "staff-only", "after": 0}):
            refused = client.call("resume", bad)
            assert (refused["ok"], refused["error"], refused["message"]) == (False, "invalid", said)
    finally:
        client.disconnect()


# --- every resident error path, in Welsh, against the English catalogue ------------------------

CATALOGUE = Path(__file__).resolve().parents[2] / "services" / "translations" / "cy" / "LC_MESSAGES" / "messages.po"


def english_sentences() -> set[str]:
    """The catalogue's English sentences (three words or more, no placeholder) whose Welsh differs:
    none of them may be shown to a resident reading in Welsh."""
    with CATALOGUE.open("rb") as f:
        catalogue = read_po(f)
    return {m.id for m in catalogue if isinstance(m.id, str) and len(m.id.split()) >= 3 and "%(" not in m.id
            and m.string and m.string != m.id}


def english_left(html: str, sentences: set[str]) -> list[str]:
    text = " ".join(text_nodes(html.replace("&#39;", "'")))
    return sorted(s for s in sentences if s in text)


def test_every_resident_error_path_is_welsh(app, config, live_pair):
    """Walks what a resident can meet going wrong, reading in Welsh: each answer is the Welsh
    sentence, and no English sentence from the catalogue (nor Werkzeug's own words) is left."""
    sentences = english_sentences()
    world = welsh_world(app)
    base = f"/t/{world.tenant.slug}"
    with app.app_context():
        closed = another_room(world, "closed")
    client = app.test_client()
    client.get(f"{base}/?lang=cy")   # the reader's choice, remembered in the cookie
    problems = {}

    def check(what: str, response, welsh: str, status: int) -> None:
        html = response.get_data(as_text=True)
        found = [] if welsh in html.replace("&#39;", "'") else [f"missing Welsh: {welsh}"]
        found += [] if status is None or response.status_code == status else [f"status {response.status_code}"]
        found += english_left(html, sentences)
        if found:
            problems[what] = found

    check("no such page", client.get(f"{base}/no-such-page"), "Nid oedd modd i ni ddod o hyd i'r dudalen honno.", 404)
    check("no such chat", client.get(f"{base}/rooms/{uuid.uuid4()}"), "Nid oedd modd i ni ddod o hyd i'r sgwrs honno.", 404)
    check("no such recording", client.get(f"{base}/media/{uuid.uuid4()}"),
          "Nid oedd modd i ni ddod o hyd i'r recordiad hwnnw.", 404)
    check("reminders after the chat", client.post(f"{base}/rooms/{closed.room['id']}/register",
                                                  data={"email": "gwen@example.org", "language": "cy"},
                                                  follow_redirects=True),
          "Mae'r sgwrs hon wedi gorffen, felly nid oes nodiadau atgoffa ar gael mwyach.", 200)
    check("a method the page does not take", client.put(f"{base}/rooms/{world.room['id']}"),
          "Ni chaniateir y weithred honno yma.", 405)

    redis_down = create_app(config.with_overrides(redis_url="redis://127.0.0.1:9/0"), process="web")
    redis_down.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
    down = redis_down.test_client()
    down.get(f"{base}/?lang=cy")
    check("rate limits with Redis down", down.post(f"{base}/rooms/{world.room['id']}/join", data={"display_name": "Gwen"},
                                                   follow_redirects=True),
          "Nid yw'r gwasanaeth ar gael am ychydig.", None)

    for status, error in default_exceptions.items():   # statuses no view words itself
        with app.test_request_context(f"{base}/rooms/{world.room['id']}?lang=cy"):
            response = app.handle_user_exception(error())
        html = response.get_data(as_text=True)
        left = english_left(html, sentences) + ([error.description] if error.description in html else [])
        if response.status_code != status or '<html lang="cy">' not in html or left:
            problems[f"HTTP {status}"] = left or [f"status {response.status_code}"]

    with app.app_context():
        scheduled = another_room(world, "scheduled")

        def resident_token(room_world):
            participant = room_world.join("Gwen")
            return make_token(LiveIdentity(world.tenant.id, room_world.room["id"], "resident", participant["id"], "cy"))
        in_live, in_scheduled = resident_token(world), resident_token(scheduled)
    live_room, early = (LiveClient(live_pair[0].url, t).connect() for t in (in_live, in_scheduled))
    try:
        said = {"vote for a question that is not there": live_room.call("vote", {"question_id": str(uuid.uuid4())}),
                "answer a poll that is not there": live_room.call("poll_vote", {"poll_id": str(uuid.uuid4()),
                                                                                 "option_ids": [1]})}
        with app.app_context(), tenant_scope(world.tenant.id) as tx:   # staff delete the chat she is waiting in
            delete_room(tx, world.admin, scheduled.room["id"])
        said["ask in a chat deleted meanwhile"] = early.call("ask", {"body": "Pryd fydd yr orsaf newydd yn agor?"})
    finally:
        close_all([live_room, early], "disconnect")
    expected = {"vote for a question that is not there": "Nid oedd modd i ni ddod o hyd i'r cwestiwn hwnnw.",
                "answer a poll that is not there": "Nid oedd modd i ni ddod o hyd i'r arolwg barn hwnnw.",
                "ask in a chat deleted meanwhile": "Nid oedd modd i ni ddod o hyd i'r sgwrs honno."}
    for what, reply in said.items():
        if reply.get("ok") is not False or reply.get("message") != expected[what]:
            problems[what] = [repr(reply)]
    assert not problems, "English or wrong answers on Welsh resident error paths:\n" + \
        "\n".join(f"{what}: {found}" for what, found in problems.items())
