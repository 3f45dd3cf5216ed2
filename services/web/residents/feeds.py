"""Per-tenant feeds residents and websites subscribe to: Atom and RSS (upcoming chats and published
transcripts) and an iCal calendar of chats; one .ics per room. `?area=` narrows any of them to a
neighbourhood; `?lang=cy` gives Welsh titles where the tenant offers Welsh.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from feedgen.feed import FeedGenerator
from flask import Response, g, request, url_for
from flask_babel import gettext as _
from icalendar import Calendar, Event

from services.lib.formatting import london
from services.lib.i18n import current_lang, localized
from services.web.residents.blueprint import bp
from services.rooms.queries import get_public_room
from tenants.db import Tx, tenant_scope

FEED_LIMIT = 50
CALENDAR_HISTORY = timedelta(days=90)


def _area_filter() -> tuple[str, list]:
    area = request.args.get("area", "").strip()[:120]
    return (" and lower(area) = lower(%s)", [area]) if area else ("", [])


def upcoming_rooms(tx: Tx) -> list[dict]:
    where, params = _area_filter()
    return tx.all("select * from rooms where state in ('scheduled', 'live')" + where +
                  " order by starts_at limit %s", [*params, FEED_LIMIT])


def published_transcripts(tx: Tx) -> list[dict]:
    """Closed chats whose transcript has been built (the transcripts slice writes `transcripts`)."""
    if tx.value("select to_regclass('transcripts') is not null") is not True:
        return []
    where, params = _area_filter()
    return tx.all("select r.*, t.built_at from rooms r join transcripts t on t.room_id = r.id"
                  " where r.state in ('closed', 'archived')" + where.replace("area", "r.area") +
                  " order by t.built_at desc limit %s", [*params, FEED_LIMIT])


def calendar_rooms(tx: Tx) -> list[dict]:
    where, params = _area_filter()
    return tx.all("select * from rooms where state in ('scheduled', 'live', 'closed', 'archived')"
                  " and ends_at > %s" + where + " order by starts_at limit 500",
                  [datetime.now(timezone.utc) - CALENDAR_HISTORY, *params])


def _tag(kind: str, room) -> str:
    return f"tag:{request.host.split(':')[0]},2026:{g.tenant.slug}:{kind}:{room['id']}"


def _feed() -> FeedGenerator:
    with tenant_scope(g.tenant.id) as tx:
        upcoming, transcripts = upcoming_rooms(tx), published_transcripts(tx)
    fg = FeedGenerator()
    fg.id(url_for("residents.home", _external=True))
    fg.title(_("Webchats with %(name)s", name=g.tenant.name))
    fg.subtitle(_("Upcoming webchats and published transcripts"))
    fg.link(href=url_for("residents.home", _external=True), rel="alternate")
    fg.language("cy" if current_lang() == "cy" else "en-GB")
    fg.author({"name": g.tenant.name})
    stamps = [r["updated_at"] for r in upcoming] + [r["built_at"] for r in transcripts]
    fg.updated(max(stamps) if stamps else datetime(2026, 1, 1, tzinfo=timezone.utc))
    for room in upcoming:                  # soonest first, then the newest transcripts
        entry = fg.add_entry(order="append")
        entry.id(_tag("room", room))
        entry.title(localized(room, "title"))
        entry.link(href=url_for("residents.room", room_id=room["id"], _external=True))
        description = localized(room, "description")
        entry.summary(f"{london(room['starts_at'])}. {description}".strip())
        entry.published(room["created_at"])
        entry.updated(room["updated_at"])
        if room["area"]:
            entry.category(term=room["area"])
    for room in transcripts:
        entry = fg.add_entry(order="append")
        entry.id(_tag("transcript", room))
        entry.title(_("Transcript: %(title)s", title=localized(room, "title")))
        entry.link(href=url_for("residents.room", room_id=room["id"], _external=True) + "/transcript")
        entry.summary(_("The transcript of the webchat held on %(when)s.", when=london(room["starts_at"])))
        entry.published(room["built_at"])
        entry.updated(room["built_at"])
    return fg


def _response(body: bytes, mimetype: str, filename: str | None = None) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Cache-Control"] = "public, max-age=300"
    if filename:
        response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@bp.get("/feeds/chats.atom")
def feed_atom():
    return _response(_feed().atom_str(pretty=True), "application/atom+xml")


@bp.get("/feeds/chats.rss")
def feed_rss():
    return _response(_feed().rss_str(pretty=True), "application/rss+xml")


def _event(room: dict) -> Event:
    event = Event()
    event.add("uid", f"{room['id']}@{request.host.split(':')[0]}")
    event.add("dtstamp", room["updated_at"])
    event.add("dtstart", room["starts_at"])
    event.add("dtend", room["ends_at"])
    event.add("summary", localized(room, "title"))
    link = url_for("residents.room", room_id=room["id"], _external=True)
    event.add("description", f"{localized(room, 'description')}\n\n{link}".strip())
    event.add("url", link)
    event.add("location", link)
    event.add("status", "CANCELLED" if room["state"] == "draft" else "CONFIRMED")
    event.add("sequence", int(room["updated_at"].timestamp()) % 2_000_000_000)
    return event


def _calendar(rooms: list[dict], name: str) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//Townhall//Webchats//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", "Europe/London")
    for room in rooms:
        cal.add_component(_event(room))
    return cal.to_ical()


@bp.get("/feeds/chats.ics")
def feed_ical():
    with tenant_scope(g.tenant.id) as tx:
        rooms = calendar_rooms(tx)
    return _response(_calendar(rooms, _("Webchats with %(name)s", name=g.tenant.name)), "text/calendar",
                     f"{g.tenant.slug}-webchats.ics")


@bp.get("/rooms/<room_id>/calendar.ics")
def room_ical(room_id):
    with tenant_scope(g.tenant.id) as tx:
        room = get_public_room(tx, room_id)
    return _response(_calendar([room], localized(room, "title")), "text/calendar", "webchat.ics")
