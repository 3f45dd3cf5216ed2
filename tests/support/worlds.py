"""A tenant with staff and a room, built through the real actions in whatever app context is
current (the session's database, or a test's own PostgreSQL)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from services.live.tokens import LiveIdentity, make_token
from services.residents.actions import join_room
from services.rooms import actions as room_actions
from services.rooms.queries import get_room
from tenants.auth import create_staff
from tenants.db import tenant_scope
from tenants.provisioning import create_tenant

PASSWORD = "correct-horse-battery"


@dataclass
class RoomWorld:
    tenant: object
    admin: object
    host: object
    moderator: object
    room: dict

    def token(self, kind: str, subject_id=None) -> str:
        return make_token(LiveIdentity(self.tenant.id, self.room["id"], kind, subject_id))

    def join(self, name: str | None = None, ip: str = "203.0.113.7") -> dict:
        with tenant_scope(self.tenant.id) as tx:
            return join_room(tx, self.room["id"], name, ip)

    def resident_token(self, participant: dict) -> str:
        return self.token("resident", participant["id"])

    def staff_token(self, staff) -> str:
        return self.token("staff", staff.id)


def make_tenant(state: str = "active", **kwargs):
    slug = kwargs.pop("slug", f"t-{uuid.uuid4().hex[:10]}")
    return create_tenant(slug=slug, name=kwargs.pop("name", f"Tenant {slug}"), state=state, **kwargs)


def move_to_plan(tenant, plan: str) -> None:
    """As a platform admin's approval would (seeded plans: trial, standard, large)."""
    with tenant_scope(tenant.id) as tx:
        tx.execute("update tenants set plan = %s where id = %s", [plan, tenant.id])


def make_staff(tenant, role: str = "admin", **kwargs):
    email = kwargs.pop("email", f"{role}-{uuid.uuid4().hex[:6]}@force.police.uk")
    with tenant_scope(tenant.id) as tx:
        return create_staff(tx, email=email, display_name=kwargs.pop("display_name", f"{role.title()} Person"),
                            role=role, password=kwargs.pop("password", PASSWORD), title=kwargs.pop("title", ""))


def build_world(state: str = "live", tenant=None, **room_fields) -> RoomWorld:
    tenant = tenant or make_tenant()
    admin = make_staff(tenant, "admin", display_name="Alex Admin")
    host = make_staff(tenant, "host", display_name="Pat Commissioner", title="Police and Crime Commissioner")
    moderator = make_staff(tenant, "moderator", display_name="Morgan Moderator")
    return another_room(RoomWorld(tenant, admin, host, moderator, {}), state, **room_fields)


def another_room(world: RoomWorld, state: str = "live", **room_fields) -> RoomWorld:
    """The same tenant and staff with a new room (brought to `state` through the lifecycle)."""
    start = datetime.now(timezone.utc) + timedelta(minutes=5)
    with tenant_scope(world.tenant.id) as tx:
        room = room_actions.create_room(tx, world.admin, {"title": "Ask the Commissioner", "starts_at": start,
                                                          "ends_at": start + timedelta(hours=1),
                                                          "slow_mode_seconds": 0, **room_fields})
        if state != "draft":
            room = room_actions.change_state(tx, world.admin, room["id"], "scheduled")
        if state in ("live", "closed"):
            room = room_actions.change_state(tx, world.admin, room["id"], "live")
        if state == "closed":
            room = room_actions.change_state(tx, world.admin, room["id"], "closed")
    with tenant_scope(world.tenant.id) as tx:
        room = get_room(tx, room["id"])  # last_seq after the state events (they are written at COMMIT)
    return RoomWorld(world.tenant, world.admin, world.host, world.moderator, room)
