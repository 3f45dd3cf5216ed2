"""Neighbourhoods: the tenant defines them, chats target one or more, residents follow one on its
page (upcoming chats, past transcripts) and in their calendar (iCal); drafts and other tenants'
chats never show."""
from __future__ import annotations

from icalendar import Calendar

from services.rooms import actions as rooms
from services.rooms.actions import change_state
from tenants.db import tenant_scope
from tests.support.console import admin_client
from services.transcripts.build import build_and_store


def test_residents_follow_a_neighbourhood(app, app_ctx, make_world):
    world, other = make_world(state="scheduled"), make_world()
    admin, _ = admin_client(app, world.tenant, world.admin)
    base = f"/t/{world.tenant.slug}"
    for name in ("Riverside Ward", "Hill Top"):
        assert admin.post(f"{base}/console/neighbourhoods", data={"name": name}).status_code == 302
    assert "already a neighbourhood" in admin.post(f"{base}/console/neighbourhoods",
                                                   data={"name": "riverside ward"}).get_data(as_text=True)
    with tenant_scope(world.tenant.id) as tx:
        hoods = {r["slug"]: r["id"] for r in tx.all("select id, slug from neighbourhoods")}
        past = rooms.create_room(tx, world.admin, {"title": "Flooding and the river patrol",
                                                   "starts_at": world.room["starts_at"],
                                                   "ends_at": world.room["ends_at"], "slow_mode_seconds": 0})
        for state in ("scheduled", "live", "closed"):
            change_state(tx, world.admin, past["id"], state)
        draft = rooms.create_room(tx, world.admin, {"title": "Draft about Riverside", "starts_at": world.room["starts_at"],
                                                    "ends_at": world.room["ends_at"]})
        elsewhere = rooms.create_room(tx, world.admin, {"title": "Hill Top speeding", "starts_at": world.room["starts_at"],
                                                        "ends_at": world.room["ends_at"]})
        change_state(tx, world.admin, elsewhere["id"], "scheduled")
    assert build_and_store(world.tenant.id, past["id"]) == "stored"
    riverside = hoods["riverside-ward"]
    for room_id in (world.room["id"], past["id"], draft["id"]):
        admin.post(f"{base}/console/neighbourhoods/{riverside}/rooms", data={"room_id": str(room_id)})
    admin.post(f"{base}/console/neighbourhoods/{hoods['hill-top']}/rooms", data={"room_id": str(elsewhere["id"])})
    # another tenant's room cannot be targeted
    response = admin.post(f"{base}/console/neighbourhoods/{riverside}/rooms", data={"room_id": str(other.room["id"])})
    assert response.status_code == 404

    resident = app.test_client()
    assert "Riverside Ward" in resident.get(f"{base}/neighbourhoods").get_data(as_text=True)
    page = resident.get(f"{base}/neighbourhoods/riverside-ward").get_data(as_text=True)
    upcoming, past_section = page.split('id="upcoming-heading"')[1].split('id="past-heading"')
    assert "Ask the Commissioner" in upcoming and "Flooding and the river patrol" in past_section
    assert f"/rooms/{past['id']}/transcript" in past_section
    assert "Draft about Riverside" not in page and "Hill Top speeding" not in page

    ics = resident.get(f"{base}/neighbourhoods/riverside-ward.ics")
    assert ics.headers["Content-Type"].startswith("text/calendar")
    uids = {str(e["uid"]) for e in Calendar.from_ical(ics.data).walk("VEVENT")}
    assert uids == {f"room-{world.room['id']}@localhost", f"room-{past['id']}@localhost"}

    # removing a chat takes it off the page; other tenants' neighbourhoods are not found
    admin.post(f"{base}/console/neighbourhoods/{riverside}/rooms", data={"room_id": str(past["id"]), "action": "remove"})
    assert "Flooding" not in resident.get(f"{base}/neighbourhoods/riverside-ward").get_data(as_text=True)
    assert resident.get(f"/t/{other.tenant.slug}/neighbourhoods/riverside-ward").status_code == 404
    with tenant_scope(world.tenant.id) as tx:
        assert tx.value("select count(*) from audit_log where action like 'neighbourhood.%%'") == 7
