"""Metering through real live processes: each resident connection is a room_presence row written
by the process that holds it, the roll-up reads those rows, and seats follow connections."""
from __future__ import annotations

import uuid

from services.live import presence
from services.residents import capacity
from tenants import billing
from tenants.db import tenant_scope
from tenants.plans import month_start
from tests.support.workers import wait_until


def _presence(world):
    with tenant_scope(world.tenant.id) as tx:
        return tx.all("select participant_id, process, disconnected_at from room_presence where room_id = %s",
                      [world.room["id"]])


def test_two_live_processes_record_connections_and_peak_and_release_seats(app_ctx, make_world, live_pair, clients):
    p1, p2 = live_pair
    world = make_world()
    alice, bob = world.join("Alice"), world.join("Bob")
    assert capacity.occupied(world.room["id"]) == 2                 # seats claimed at joining
    r1 = clients(p1.url, world.resident_token(alice))
    clients(p2.url, world.resident_token(bob))
    rows = wait_until(lambda: len(_presence(world)) == 2 and _presence(world), message="two presence rows")
    assert len({r["process"] for r in rows}) == 2                   # one per live process
    assert {r["participant_id"] for r in rows} == {alice["id"], bob["id"]}
    with tenant_scope(world.tenant.id) as tx:
        usage = billing.rollup_month(tx, month_start(world.room["opened_at"]))
    assert usage["room_peaks"] == {str(world.room["id"]): 2} and usage["unique_participants"] == 2

    r1.disconnect()
    wait_until(lambda: any(r["disconnected_at"] for r in _presence(world)), message="disconnect recorded")
    wait_until(lambda: capacity.occupied(world.room["id"]) == 1, message="Alice's seat released")


def test_seats_are_freed_at_the_next_refresh_unless_the_resident_came_back(app_ctx):
    room, gone, back = (str(uuid.uuid4()) for _ in range(3))
    for participant in (gone, back):
        assert capacity.claim(room, participant, limit=10)
        presence.joined(room, participant)
    presence.left(room, gone)
    presence.left(room, back)
    presence.joined(room, back)                 # a reconnect within the same round
    assert capacity.occupied(room) == 2         # a disconnect itself makes no Redis call
    presence.refresh_seats()
    assert capacity.occupied(room) == 1         # only the resident who stayed away lost the seat
    assert capacity.claim(room, back, limit=1)  # ...and the one who came back still holds theirs
    presence.left(room, back)
    presence.refresh_seats()
    assert capacity.occupied(room) == 0
