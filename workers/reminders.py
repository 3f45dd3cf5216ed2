"""Reminder messages: composing them (branded HTML + plain text, an .ics file, RFC 8058 one-click
unsubscribe headers) and the beat task that finds due reminder rows.

`dispatch_due(now)` claims due rows with `FOR UPDATE SKIP LOCKED` inside each tenant's scope and,
in the same transaction, stores one outbound message per row (ref `reminder:<id>`) and marks the
row sent; after commit one short `send_mail` task per message goes to the `mail` queue. Two beats
or two workers racing cannot send a reminder twice: the second skips the locked rows, then finds
them sent. Time comes from the caller (`now`), so tests drive it without sleeping.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from flask import current_app
from flask_babel import force_locale, gettext, ngettext
from icalendar import Calendar, Event, vCalAddress, vText

from services.formatting import london
from services.i18n import LANGUAGES, localized
from services.links import tenant_url
from tenants.db import Tx, tenant_scope
from workers.celery_app import celery_app, enqueue, moment
from workers.mail import Attachment, Rendered, brand_colour, queue_mail, render, tenants_with_due_work

log = logging.getLogger(__name__)

BATCH = 200


def _tenant(tx: Tx) -> dict:
    return tx.one("select id, slug, name, settings from tenants where id = %s", [tx.tenant_id])


def calendar_file(room: dict, tenant: dict, *, cancelled: bool = False, lang: str = "en") -> Attachment:
    """An .ics for the room: one event, stable UID, SEQUENCE rising with every edit. `room` is the
    room as the reader sees it: for a Welsh reader, its Welsh title and description when set."""
    config = current_app.config["TOWNHALL"]
    cal = Calendar()
    cal.add("prodid", "-//Townhall//Live webchats//EN")
    cal.add("version", "2.0")
    cal.add("method", "CANCEL" if cancelled else "PUBLISH")
    event = Event()
    event.add("uid", f"room-{room['id']}@{config.base_domain}")
    event.add("sequence", int(room["updated_at"].timestamp()) - int(room["created_at"].timestamp()))
    event.add("dtstamp", room["updated_at"].astimezone(timezone.utc))
    event.add("dtstart", room["starts_at"].astimezone(timezone.utc))
    event.add("dtend", room["ends_at"].astimezone(timezone.utc))
    event.add("summary", room["title"], parameters={"LANGUAGE": lang})
    event.add("description", room["description"] or room["title"], parameters={"LANGUAGE": lang})
    event.add("url", tenant_url(tenant["slug"], f"/rooms/{room['id']}"))
    event.add("location", vText(tenant_url(tenant["slug"], f"/rooms/{room['id']}")))
    organizer = vCalAddress(f"mailto:{config.mail_from.rpartition('<')[2].rstrip('>')}")
    organizer.params["cn"] = vText(tenant["name"])
    event.add("organizer", organizer)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    cal.add_component(event)
    method = "CANCEL" if cancelled else "PUBLISH"
    return Attachment("chat.ics", f"text/calendar; method={method}", cal.to_ical())


def offset_words(minutes: int) -> str:
    """How long before the start a reminder comes, in the current locale ("24 hours", "24 awr")."""
    if minutes % (24 * 60) == 0:
        days = minutes // (24 * 60)
        return gettext("24 hours") if days == 1 else ngettext("%(num)d day", "%(num)d days", days)
    if minutes % 60 == 0:
        hours = minutes // 60
        return ngettext("%(num)d hour", "%(num)d hours", hours)
    return ngettext("%(num)d minute", "%(num)d minutes", minutes)


@dataclass(frozen=True)
class Composed:
    """One registrant's message, ready to queue."""
    rendered: Rendered
    headers: dict[str, str]
    attachments: tuple[Attachment, ...]
    sender_name: str


def compose_registration_mail(tx: Tx, template: str, registration: dict, room: dict, *, token: str | None = None,
                              offset_minutes: int | None = None) -> Composed:
    """A message to a registrant from `mail/<template>.txt|.html`, in the language they registered
    in: subject, body, dates, the room's Welsh title and description, the .ics, and links that
    open the pages in that language."""
    from services.residents.registrations import make_token

    tenant = _tenant(tx)
    lang = registration["language"] if registration["language"] in LANGUAGES else "en"
    query = f"?lang={lang}" if lang != "en" else ""

    def link(path: str) -> str:
        return tenant_url(tenant["slug"], path) + query

    unsubscribe = link(f"/unsubscribe/{make_token(tx.tenant_id, registration['id'], 'unsubscribe')}")
    with force_locale(lang):
        room = {**room, "title": localized(room, "title"), "description": localized(room, "description")}
        context = {
            "tenant": tenant, "brand": brand_colour(tenant["settings"]), "room": room,
            "when": london(room["starts_at"], lang=lang), "ends": london(room["ends_at"], "time", lang=lang),
            "room_url": link(f"/rooms/{room['id']}"), "home_url": link("/"),
            "transcript_url": link(f"/rooms/{room['id']}/transcript"),
            "confirm_url": link(f"/registrations/confirm/{token}") if token else None,
            "unsubscribe_url": unsubscribe,
            "offset_words": offset_words(offset_minutes) if offset_minutes is not None else None,
        }
    headers = {}
    attachments: tuple[Attachment, ...] = ()
    if template != "confirm":   # a confirmation is not a subscription yet
        headers = {"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    if template in ("reminder", "live", "rescheduled", "cancelled"):
        attachments = (calendar_file(room, tenant, cancelled=template == "cancelled", lang=lang),)
    return Composed(render(template, lang=lang, **context), headers, attachments, tenant["name"])


def queue_registration_mail(tx: Tx, template: str, registration: dict, room: dict, *, ref: str,
                            token: str | None = None, offset_minutes: int | None = None):
    """Compose one message to a registrant and queue it (see `compose_registration_mail`)."""
    mail = compose_registration_mail(tx, template, registration, room, token=token, offset_minutes=offset_minutes)
    return queue_mail(tx, ref=ref, kind=template, to=registration["email"], rendered=mail.rendered,
                      sender_name=mail.sender_name, headers=mail.headers, attachments=mail.attachments)


def _outcome(reminder: dict, registration: dict | None, room: dict | None, now: datetime) -> str | None:
    """The template to send, or None to skip (unsubscribed, cancelled, too late to be useful)."""
    if registration is None or room is None or registration["status"] != "confirmed":
        return None
    if reminder["kind"] == "transcript":
        return "transcript" if room["state"] in ("closed", "archived") else None
    if room["state"] not in ("scheduled", "live"):
        return None
    if reminder["kind"] == "before":
        return "reminder" if now < room["starts_at"] else None
    return "live" if now < room["ends_at"] else None


def dispatch_due_in_tenant(tenant_id, now: datetime, limit: int = BATCH) -> int:
    """Claim this tenant's due reminders; returns how many this call claimed (sent or skipped)."""
    with tenant_scope(tenant_id) as tx:
        due = tx.all("select * from reminders where sent_at is null and due_at <= %s"
                     " order by due_at, id limit %s for update skip locked", [now, limit])
        for reminder in due:
            registration = tx.one("select * from registrations where id = %s", [reminder["registration_id"]])
            room = tx.one("select * from rooms where id = %s", [reminder["room_id"]])
            template = _outcome(reminder, registration, room, now)
            if template:
                queue_registration_mail(tx, template, registration, room, ref=f"reminder:{reminder['id']}",
                                        offset_minutes=reminder["offset_minutes"])
            tx.execute("update reminders set sent_at = %s, outcome = %s where id = %s",
                       [now, "sent" if template else "skipped", reminder["id"]])
    return len(due)


def dispatch_due(now: datetime) -> int:
    """Every tenant's due reminders → queued messages; returns how many were claimed. Safe to run
    concurrently."""
    return sum(dispatch_due_in_tenant(tenant_id, now) for tenant_id in tenants_with_due_work("reminders", now))


@celery_app.task(name="townhall.reminders.dispatch_due", acks_late=True)
def dispatch_due_task(now: str | None = None) -> int:
    count = dispatch_due(moment(now))
    if count:
        log.info("claimed %s due reminder(s)", count)
    return count


def enqueue_dispatch(delay_seconds: int = 0) -> None:
    """After commit: look for due reminders now rather than at the next beat (e.g. transcript ready)."""
    enqueue(dispatch_due_task, countdown=delay_seconds or None)

