"""Residents' emails in the language they registered in.

A Welsh resident registers on the Welsh room page, confirms by the emailed link, and the reminder
a real worker delivers to the SMTP sink is Welsh (subject, body, dates, the room's Welsh title,
the .ics summary, `lang`); an English resident of the same chat still gets English. And every
resident email, rendered in English and in Welsh from the same data, fails the test on any
sentence or word of English left in the Welsh one: a string not wrapped for translation, or
wrapped but without a Welsh translation, shows up as the same text in both renderings.
"""
from __future__ import annotations

import email
import email.policy
import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from babel.dates import format_datetime
from icalendar import Calendar

from services.engagement import data_rights
from services.reminders import links
from services.residents import registrations
from services.rooms import actions as room_actions
from services.rooms.schemas import LONDON
from tenants.db import tenant_scope
from tests.support.i18n import text_nodes, untranslated
from tests.support.worlds import build_world, make_tenant
from services.reminders import messages as reminder_mail
from workers import reminders

ROOM = {"title": "Ask the Commissioner about road safety", "title_cy": "Gofyn i'r Comisiynydd am ddiogelwch ffyrdd",
        "description": "Speeding, parking and school gates.",
        "description_cy": "Goryrru, parcio a gatiau ysgol."}
# The only words these emails share with English, each a Welsh word in its own right: "a" (and,
# which, as in "cwestiwn ac ateb a gyhoeddwyd") and "data" (the same word in Welsh).
SHARED_WORDS = {"a", "data"}
WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
URL = re.compile(r"https?://\S+")


def _address() -> str:
    return f"resident-{uuid.uuid4().hex[:10]}@example.org"


def make_welsh_world():
    """A tenant offering English and Welsh, and a chat three days ahead with a Welsh title."""
    world = build_world(state="scheduled", tenant=make_tenant(settings={"languages": ["en", "cy"]}), **ROOM)
    with tenant_scope(world.tenant.id) as tx:
        start = (datetime.now(timezone.utc) + timedelta(days=3)).replace(hour=18, minute=30, second=0,
                                                                          microsecond=0)
        world.room = room_actions.update_room(tx, world.admin, world.room["id"],
                                              {"starts_at": start, "ends_at": start + timedelta(hours=1)})
    return world


@pytest.fixture()
def welsh_world(app_ctx):
    return make_welsh_world()


class Mail:
    """The parts a resident reads: subject, plain text, HTML, and the .ics if there is one."""

    def __init__(self, message: email.message.EmailMessage):
        self.message = message
        self.subject = str(message["Subject"])
        self.text = message.get_body(("plain",)).get_content()
        self.html = message.get_body(("html",)).get_content()
        self.ics = next((Calendar.from_ical(a.get_content()) for a in message.iter_attachments()
                         if a.get_content_type() == "text/calendar"), None)

    def fragments(self) -> list[str]:
        lines = [" ".join(line.split()) for line in self.text.splitlines()]
        return [self.subject, *(line for line in lines if line), *text_nodes(self.html)]


def _stored(tx, ref: str) -> Mail:
    raw = tx.value("select message from outbound_mail where ref = %s", [ref])
    return Mail(email.message_from_bytes(bytes(raw), policy=email.policy.default))


def _registered(world, language: str) -> dict:
    with tenant_scope(world.tenant.id) as tx:
        registration = registrations.register(tx, world.room["id"], _address(), language=language)
        tx._after_commit.clear()   # rendered and stored only: nothing is sent in this test
    return registration


def every_resident_mail(world, language: str) -> dict[str, Mail]:
    """Each resident email, built by the code that sends it, for a resident reading `language`."""
    registration = _registered(world, language)
    token = links.make_token(world.tenant.id, registration["id"], "confirm")
    plan = {"confirm": dict(token=token), "reminder (24 hours)": dict(offset_minutes=24 * 60),
            "reminder (1 hour)": dict(offset_minutes=60), "reminder (2 days)": dict(offset_minutes=2 * 24 * 60),
            "reminder (30 minutes)": dict(offset_minutes=30), "live": {}, "rescheduled": {}, "cancelled": {},
            "transcript": {}}
    mails = {}
    with tenant_scope(world.tenant.id) as tx:
        for name, extra in plan.items():
            composed = reminder_mail.compose_registration_mail(tx, name.split(" ")[0], registration, world.room, **extra)
            message = email.message.EmailMessage()
            message["Subject"] = composed.rendered.subject
            message.set_content(composed.rendered.text)
            message.add_alternative(composed.rendered.html, subtype="html")
            for item in composed.attachments:
                message.add_attachment(item.data, maintype="text", subtype="calendar", filename=item.filename)
            mails[name] = Mail(message)
        for kind in ("deletion", "access"):   # the verification link, through the real request
            request = data_rights.request_rights(tx, registration["email"], kind, language)
            mails[f"data_request ({kind})"] = _stored(tx, f"data-request:{request['id']}")
        data_rights.verify(tx, data_rights.make_token(world.tenant.id, request["id"]))
        data_rights.complete(tx, world.admin, request["id"])   # the access request: the export is emailed
        mails["data_export"] = _stored(tx, f"data-export:{request['id']}")
        tx._after_commit.clear()
    return mails


def english_left(english: Mail, welsh: Mail, content: set[str]) -> list[str]:
    """Sentences and words of the English rendering still in the Welsh one (content aside)."""
    same = untranslated(english.fragments(), welsh.fragments(), content)

    def words(mail: Mail) -> set[str]:
        text = URL.sub(" ", " ".join(mail.fragments()))
        for own in sorted(content, key=len, reverse=True):
            text = text.replace(own, " ")
        return {w.lower() for w in WORD.findall(text)}
    return same + sorted(f"word: {w}" for w in (words(english) & words(welsh)) - SHARED_WORDS)


def test_every_resident_email_is_all_welsh_for_a_welsh_reader(welsh_world):
    world = welsh_world
    english, welsh = every_resident_mail(world, "en"), every_resident_mail(world, "cy")
    content = {world.tenant.name, *ROOM.values(), "your-data.json", "Townhall"}
    problems = {name: left for name in english if (left := english_left(english[name], welsh[name], content))}
    assert not problems, "English left in Welsh resident emails (email: strings):\n" + \
        "\n".join(f"{name}: {left}" for name, left in problems.items())

    start = world.room["starts_at"]
    welsh_date = format_datetime(start, "EEEE d MMMM y", tzinfo=LONDON, locale="cy")   # e.g. Dydd Llun 7 Rhagfyr 2026
    for name, mail in welsh.items():
        assert '<html lang="cy">' in mail.html, name
        assert world.tenant.name in mail.html, name
        if not name.startswith("data_"):
            assert ROOM["title_cy"] in mail.subject and ROOM["title"] not in mail.text + mail.html, name
            assert re.search(r"\?lang=cy\b", mail.text), f"{name}: links open the pages in Welsh"
    for name in ("confirm", "reminder (24 hours)", "rescheduled"):
        assert welsh_date in welsh[name].text and welsh_date in welsh[name].html, name
        assert format_datetime(start, "HH:mm", tzinfo=LONDON, locale="cy") in welsh[name].text
    assert welsh["reminder (24 hours)"].subject == f'Nodyn atgoffa: mae "{ROOM["title_cy"]}" yn dechrau ymhen 24 awr'
    assert welsh["reminder (1 hour)"].subject.endswith("ymhen 1 awr")
    assert welsh["reminder (2 days)"].subject.endswith("ymhen 2 ddiwrnod")
    assert ROOM["description_cy"] in welsh["reminder (24 hours)"].text
    event = welsh["reminder (24 hours)"].ics.walk("VEVENT")[0]
    assert str(event["summary"]) == ROOM["title_cy"] and event["summary"].params["LANGUAGE"] == "cy"
    assert welsh["data_export"].subject == f"Copi o'ch data a gedwir gan {world.tenant.name}"

    # English residents still get English, with the English title and English dates.
    assert english["reminder (24 hours)"].subject == f'Reminder: "{ROOM["title"]}" starts in 24 hours'
    assert english["reminder (30 minutes)"].subject.endswith("starts in 30 minutes")
    assert start.astimezone(LONDON).strftime("%A %-d %B %Y") in english["confirm"].text
    assert all('<html lang="en-GB">' in mail.html and "?lang=" not in mail.text for mail in english.values())
    assert str(english["reminder (24 hours)"].ics.walk("VEVENT")[0]["summary"]) == ROOM["title"]


def test_a_welsh_resident_registers_on_the_welsh_page_and_the_reminder_arrives_in_welsh(app, client, sink, worker):
    # No app context held across requests (each request gets its own, as in production), so one
    # request's language is not remembered for the next.
    with app.app_context():
        world = make_welsh_world()
    start = world.room["starts_at"]
    room_path = f"/t/{world.tenant.slug}/rooms/{world.room['id']}"
    welsh_email, english_email = _address(), _address()

    page = client.get(f"{room_path}?lang=cy").get_data(as_text=True).replace("&#39;", "'")
    assert '<html lang="cy">' in page and ROOM["title_cy"] in page
    language = re.search(r'<input type="hidden" name="language" value="(\w+)">', page).group(1)
    assert language == "cy"
    done = client.post(f"{room_path}/register", data={"email": welsh_email, "language": language},
                       follow_redirects=True).get_data(as_text=True)
    assert "rydym wedi anfon e-bost ato" in done.replace("&#39;", "'")
    english_client = app.test_client()   # another resident, reading in English
    english_page = english_client.get(f"{room_path}?lang=en").get_data(as_text=True)
    assert '<input type="hidden" name="language" value="en">' in english_page
    english_client.post(f"{room_path}/register", data={"email": english_email, "language": "en"})

    [confirmation] = sink.wait_for(welsh_email)
    assert confirmation.subject == f'Cadarnhewch eich nodiadau atgoffa ar gyfer "{ROOM["title_cy"]}"'
    link = re.search(r"http://townhall\.test(/t/\S+/registrations/confirm/\S+\?lang=cy)", confirmation.text()).group(1)
    confirm_page = client.get(link).get_data(as_text=True)
    assert "Cadarnhau fy nodiadau atgoffa" in confirm_page and '<html lang="cy">' in confirm_page
    assert "Mae eich nodiadau atgoffa wedi'u cadarnhau" in client.post(link).get_data(as_text=True).replace("&#39;", "'")
    [english_confirmation] = sink.wait_for(english_email)
    assert english_confirmation.subject == f'Confirm your reminders for "{ROOM["title"]}"'
    english_link = re.search(r"http://townhall\.test(/t/\S+/registrations/confirm/\S+)",
                             english_confirmation.text()).group(1)
    assert "Your reminders are confirmed" in english_client.post(english_link).get_data(as_text=True)

    with app.app_context():
        reminders.dispatch_due_task.delay((start - timedelta(hours=24) + timedelta(seconds=30)).isoformat())
    reminder = sink.wait_for(welsh_email, 2)[1]
    assert reminder.subject == f'Nodyn atgoffa: mae "{ROOM["title_cy"]}" yn dechrau ymhen 24 awr'
    text, html = reminder.text(), reminder.html()
    when = format_datetime(start, "EEEE d MMMM y, HH:mm", tzinfo=LONDON, locale="cy")
    assert f"Pryd: {when} tan {format_datetime(start + timedelta(hours=1), 'HH:mm', tzinfo=LONDON, locale='cy')}" \
           f" (amser y DU)" in text
    assert "Mae'r sgwrs ar-lein y gwnaethoch gofrestru ar ei chyfer yn dechrau ymhen 24 awr." in text
    assert ROOM["description_cy"] in text and ROOM["title"] not in text
    assert '<html lang="cy">' in html and "Mynd i'r sgwrs" in html
    assert "Atal y negeseuon e-bost hyn" in text and "Stop these emails" not in text + html
    event = Calendar.from_ical(reminder.attachments()[0].get_content()).walk("VEVENT")[0]
    assert str(event["summary"]) == ROOM["title_cy"]

    english_reminder = sink.wait_for(english_email, 2)[1]
    assert english_reminder.subject == f'Reminder: "{ROOM["title"]}" starts in 24 hours'
    assert '<html lang="en-GB">' in english_reminder.html() and "Go to the chat" in english_reminder.html()
    with app.app_context(), tenant_scope(world.tenant.id) as tx:
        assert {r["email"]: r["language"] for r in tx.all("select email, language from registrations")} == \
            {welsh_email: "cy", english_email: "en"}
