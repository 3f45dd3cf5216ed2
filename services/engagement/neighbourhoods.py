"""Neighbourhoods (wards) a tenant serves; rooms target one or more; residents follow one through
its page (upcoming chats, past transcripts) and its calendar feed (iCal)."""
from __future__ import annotations

import re
import unicodedata

import psycopg
from marshmallow import EXCLUDE, Schema, fields, validate

from tenants.ids import parse_uuid
from services.reminders.messages import calendar_file
from services.rooms.lifecycle import PUBLIC_STATES
from tenants import audit
from tenants.db import Tx
from tenants.errors import NotFound, ValidationFailed
from tenants.roles import require


class NeighbourhoodSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    name = fields.String(required=True, validate=validate.Length(2, 120, error="Give the neighbourhood a name of 2 to "
                                                                                 "120 characters."),
                         error_messages={"required": "Give the neighbourhood a name."})


class TargetSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    room_id = fields.UUID(required=True, error_messages={"required": "Choose a chat.", "invalid": "Choose a chat."})


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name).strip("-")[:60].strip("-")


def list_neighbourhoods(tx: Tx) -> list[dict]:
    return tx.all("select n.*, coalesce(array_agg(rn.room_id) filter (where rn.room_id is not null), '{}')"
                  " as room_ids from neighbourhoods n left join room_neighbourhoods rn on rn.neighbourhood_id = n.id"
                  " group by n.id order by lower(n.name)")


def create_neighbourhood(tx: Tx, staff, name: str) -> dict:
    require(staff.role, "settings.edit")
    slug = slugify(name)
    if len(slug) < 2:
        raise ValidationFailed("Use letters or numbers in the name.", field="name")
    try:
        with tx.conn.transaction():
            row = tx.one("insert into neighbourhoods (tenant_id, name, slug) values (%s, %s, %s) returning *",
                         [tx.tenant_id, name.strip(), slug])
    except psycopg.errors.UniqueViolation:
        raise ValidationFailed("There is already a neighbourhood with that name.", field="name") from None
    audit.record_staff(tx, staff, "neighbourhood.created", "neighbourhood", row["id"], {"name": row["name"]})
    return row


def _neighbourhood(tx: Tx, neighbourhood_id) -> dict:
    nid = parse_uuid(neighbourhood_id)
    row = tx.one("select * from neighbourhoods where id = %s", [nid]) if nid else None
    if row is None:
        raise NotFound("We could not find that neighbourhood.")
    return row


def target(tx: Tx, staff, neighbourhood_id, room_id, on: bool = True) -> None:
    """A room targets (or stops targeting) a neighbourhood."""
    require(staff.role, "room.edit")
    hood = _neighbourhood(tx, neighbourhood_id)
    rid = parse_uuid(room_id)
    room = tx.one("select id from rooms where id = %s", [rid]) if rid else None
    if room is None:
        raise NotFound("We could not find that chat.")
    if on:
        tx.execute("insert into room_neighbourhoods (tenant_id, room_id, neighbourhood_id) values (%s, %s, %s)"
                   " on conflict do nothing", [tx.tenant_id, room["id"], hood["id"]])
    else:
        tx.execute("delete from room_neighbourhoods where room_id = %s and neighbourhood_id = %s",
                   [room["id"], hood["id"]])
    audit.record_staff(tx, staff, "neighbourhood.targeted" if on else "neighbourhood.untargeted", "room", room["id"],
                       {"neighbourhood": str(hood["id"])})


def public_neighbourhood(tx: Tx, slug: str) -> dict:
    """A neighbourhood and its public rooms: live, upcoming, and past ones with transcripts."""
    hood = tx.one("select * from neighbourhoods where slug = %s", [slug])
    if hood is None:
        raise NotFound("We could not find that neighbourhood.")
    rooms = tx.all("select r.*, exists (select 1 from transcripts t where t.room_id = r.id) as has_transcript"
                   " from rooms r join room_neighbourhoods rn on rn.room_id = r.id"
                   " where rn.neighbourhood_id = %s and r.state = any(%s) order by r.starts_at, r.id",
                   [hood["id"], list(PUBLIC_STATES)])
    return {"neighbourhood": hood,
            "live": [r for r in rooms if r["state"] == "live"],
            "upcoming": [r for r in rooms if r["state"] == "scheduled"],
            "past": sorted((r for r in rooms if r["state"] in ("closed", "archived")),
                           key=lambda r: r["starts_at"], reverse=True)}


def calendar(tenant: dict, data: dict) -> bytes:
    """An iCal feed of the neighbourhood's chats (subscribe once, see new ones as they are added)."""
    from icalendar import Calendar

    cal = Calendar()
    cal.add("prodid", "-//Townhall//Neighbourhood webchats//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"{tenant['name']}: {data['neighbourhood']['name']}")
    for room in [*data["live"], *data["upcoming"], *data["past"]]:
        for event in Calendar.from_ical(calendar_file(room, tenant).data).walk("VEVENT"):
            cal.add_component(event)
    return cal.to_ical()
