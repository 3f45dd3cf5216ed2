from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

from services.live.tokens import LiveIdentity, make_token
from services.residents.actions import join_room
from services.rooms import actions as room_actions
from services.rooms.queries import get_room
from tenants.db import tenant_scope
from tests.support.live_client import LiveClient
from tests.support.servers import start_server


@pytest.fixture(scope="session")
def live_pair(env, tmp_path_factory):
    """Two live processes sharing one Redis (the production shape)."""
    logs = tmp_path_factory.mktemp("live-logs")
    servers = [start_server("live", env, logs), start_server("live", env, logs)]
    yield servers
    for server in servers:
        server.stop()


@dataclass
class RoomWorld:
    tenant: object
    admin: object
    host: object
    moderator: object
    room: dict

    def token(self, kind: str, subject_id=None) -> str:
        return make_token(LiveIdentity(self.tenant.id, self.room["id"], kind, subject_id))

    def join(self, name: str | None = None) -> dict:
        with tenant_scope(self.tenant.id) as tx:
            return join_room(tx, self.room["id"], name, "203.0.113.7")

    def resident_token(self, participant: dict) -> str:
        return self.token("resident", participant["id"])

    def staff_token(self, staff) -> str:
        return self.token("staff", staff.id)


@pytest.fixture()
def make_world(make_tenant, make_staff):
    def make(state="live", **room_fields) -> RoomWorld:
        tenant = make_tenant()
        admin = make_staff(tenant, "admin", display_name="Alex Admin")
        host = make_staff(tenant, "host", display_name="Pat Commissioner", title="Police and Crime Commissioner")
        moderator = make_staff(tenant, "moderator", display_name="Morgan Moderator")
        start = datetime.now(timezone.utc) + timedelta(minutes=5)
        with tenant_scope(tenant.id) as tx:
            room = room_actions.create_room(tx, admin, {"title": "Ask the Commissioner", "starts_at": start,
                                                        "ends_at": start + timedelta(hours=1),
                                                        "slow_mode_seconds": 0, **room_fields})
            if state != "draft":
                room = room_actions.change_state(tx, admin, room["id"], "scheduled")
            if state in ("live", "closed"):
                room = room_actions.change_state(tx, admin, room["id"], "live")
            if state == "closed":
                room = room_actions.change_state(tx, admin, room["id"], "closed")
            room = get_room(tx, room["id"])  # last_seq after the state events
        return RoomWorld(tenant, admin, host, moderator, room)
    return make


@pytest.fixture()
def clients():
    made: list[LiveClient] = []

    def make(url, token, **kwargs) -> LiveClient:
        client = LiveClient(url, token, **kwargs).connect()
        made.append(client)
        return client

    yield make
    closers = [threading.Thread(target=c.disconnect) for c in made]  # each waits ~3 s for its socket
    for t in closers:
        t.start()
    for t in closers:
        t.join(10)
