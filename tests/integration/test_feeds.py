"""Feeds parse back: Atom and RSS with feedparser, the calendars with icalendar."""
from __future__ import annotations

import feedparser
import psycopg
from icalendar import Calendar
from psycopg import sql
from psycopg.types.json import Jsonb

from services.rooms import actions as room_actions
from tenants.db import tenant_scope


def mark_transcript_built(stack, tenant_id, room_id) -> None:
    """What the transcripts worker leaves behind: a `transcripts` row. Until that slice is merged
    here the table may not exist; a stand-in with the same key columns (and RLS) is made."""
    with psycopg.connect(stack.owner_url, autocommit=True) as conn:
        if conn.execute("select to_regclass('transcripts')").fetchone()[0] is None:
            # the columns the feeds and the API read (the transcripts slice's table has these and more)
            conn.execute("create table transcripts (tenant_id uuid not null, room_id uuid primary key,"
                         " built_at timestamptz not null default now(), text text not null default '')")
            conn.execute("select townhall_tenant_table('transcripts')")
        columns = conn.execute(
            "select column_name, data_type from information_schema.columns where table_name = 'transcripts'"
            " and is_nullable = 'NO' and column_default is null and column_name not in ('tenant_id', 'room_id')"
        ).fetchall()
        blank = {"text": "", "bytea": b"", "jsonb": Jsonb({}), "integer": 0}
        names = ["tenant_id", "room_id", *(c for c, _ in columns)]
        values = [tenant_id, room_id, *(blank.get(t, "") for _, t in columns)]
        conn.execute(sql.SQL("insert into transcripts ({}) values ({})").format(
            sql.SQL(", ").join(map(sql.Identifier, names)), sql.SQL(", ").join(sql.Placeholder() * len(names))),
            values)


def test_atom_and_rss_list_upcoming_chats_and_published_transcripts(app_ctx, make_world, client, stack):
    world = make_world(state="scheduled", area="Riverside", description="Patrols & <parking>.")
    with tenant_scope(world.tenant.id) as tx:
        past = room_actions.create_room(tx, world.admin, {**{k: world.room[k] for k in ("starts_at", "ends_at")},
                                                          "title": "Knife crime: what next?"})
        for state in ("scheduled", "live", "closed"):
            room_actions.change_state(tx, world.admin, past["id"], state)
        draft = room_actions.create_room(tx, world.admin, {**{k: world.room[k] for k in ("starts_at", "ends_at")},
                                                           "title": "A draft nobody sees"})
    mark_transcript_built(stack, world.tenant.id, past["id"])
    base = f"/t/{world.tenant.slug}"

    atom = client.get(f"{base}/feeds/chats.atom")
    assert atom.status_code == 200 and atom.mimetype == "application/atom+xml"
    parsed = feedparser.parse(atom.data)
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.version == "atom10"
    titles = [e.title for e in parsed.entries]
    assert titles == ["Ask the Commissioner", "Transcript: Knife crime: what next?"]
    room_entry, transcript_entry = parsed.entries
    assert room_entry.link.endswith(f"{base}/rooms/{world.room['id']}")
    assert "Patrols & <parking>." in room_entry.summary
    assert transcript_entry.link.endswith(f"{base}/rooms/{past['id']}/transcript")
    assert str(draft["id"]) not in atom.text

    rss = feedparser.parse(client.get(f"{base}/feeds/chats.rss").data)
    assert not rss.bozo and rss.version == "rss20"
    assert [e.title for e in rss.entries] == titles

    narrowed = feedparser.parse(client.get(f"{base}/feeds/chats.atom?area=elsewhere").data)
    assert narrowed.entries == [] and not narrowed.bozo


def test_icalendar_feeds_parse_back(app_ctx, make_world, client):
    world = make_world(state="scheduled", description="Bring your questions.")
    base = f"/t/{world.tenant.slug}"
    response = client.get(f"{base}/feeds/chats.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    calendar = Calendar.from_ical(response.data)
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    event = events[0]
    assert str(event["summary"]) == "Ask the Commissioner"
    assert event.decoded("dtstart") == world.room["starts_at"].replace(microsecond=0)
    assert event.decoded("dtend") == world.room["ends_at"].replace(microsecond=0)
    assert str(event["url"]).endswith(f"{base}/rooms/{world.room['id']}")

    single = Calendar.from_ical(client.get(f"{base}/rooms/{world.room['id']}/calendar.ics").data)
    assert [str(e["uid"]) for e in single.walk("VEVENT")] == [str(event["uid"])]


def test_feeds_show_only_their_own_tenant(app_ctx, make_world, client):
    mine, theirs = make_world(state="scheduled"), make_world(state="scheduled", title="Another force's chat")
    atom = client.get(f"/t/{mine.tenant.slug}/feeds/chats.atom").text
    ics = client.get(f"/t/{mine.tenant.slug}/feeds/chats.ics").text
    for body in (atom, ics):
        assert str(mine.room["id"]) in body
        assert str(theirs.room["id"]) not in body and "Another force" not in body
    assert client.get(f"/t/{mine.tenant.slug}/rooms/{theirs.room['id']}/calendar.ics").status_code == 404
