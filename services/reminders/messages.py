"""Messages to residents who registered for a chat: confirm, reminders, "we're live", rescheduled,
cancelled and "the transcript is ready". Each is composed in the language the resident registered
in (branded HTML + plain text, an .ics file, RFC 8058 one-click unsubscribe headers) and queued
in the caller's transaction (services/mail/outbox.py)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timezone

from flask import current_app
from flask_babel import force_locale, gettext, ngettext
from icalendar import Calendar, Event, vCalAddress, vText

from services.lib.formatting import london
from services.lib.i18n import LANGUAGES, localized
from services.lib.links import tenant_url
from services.mail.outbox import Attachment, Rendered, brand_colour, queue_mail, render
from services.reminders.links import make_token
from tenants.db import Tx


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
