"""Retention: residents' emails, network hashes and registrations older than the tenant's period
are purged by the daily task; transcripts and figures stay; each purge is counted in the audit log."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import psycopg
from psycopg.types.json import Jsonb

from services.residents import registrations
from services.retention import actions as rules
from tenants.branding import tenant_settings
from tenants.db import tenant_scope
from workers import retention, transcripts


def _age(stack, world, days: int) -> None:
    """Move a closed room and everything about it `days` into the past (as the owner role)."""
    with psycopg.connect(stack.owner_url) as conn:
        shift = timedelta(days=days)
        conn.execute("update rooms set starts_at = starts_at - %s, ends_at = ends_at - %s, closed_at = closed_at - %s"
                     " where id = %s", [shift, shift, shift, world.room["id"]])
        conn.execute("update participants set created_at = created_at - %s where room_id = %s", [shift, world.room["id"]])
        conn.execute("update registrations set created_at = created_at - %s where room_id = %s", [shift, world.room["id"]])
        conn.execute("update outbound_mail set created_at = created_at - %s, status = 'sent' where tenant_id = %s",
                     [shift, world.tenant.id])


def _closed_room_with_personal_data(make_world, retention_days=None):
    world = make_world(state="live")
    if retention_days:
        with tenant_scope(world.tenant.id) as tx:
            tx.execute("update tenants set settings = %s where id = %s",
                       [Jsonb({"retention_days": retention_days}), world.tenant.id])
    world.join("Evan")
    with tenant_scope(world.tenant.id) as tx:
        registrations.register(tx, world.room["id"], f"evan-{uuid.uuid4().hex[:6]}@example.org")
        tx._after_commit.clear()
        from services.rooms.actions import change_state
        change_state(tx, world.host, world.room["id"], "closed")
        tx._after_commit.clear()
    transcripts.build_and_store(world.tenant.id, world.room["id"])
    return world


def _state(world) -> dict:
    with tenant_scope(world.tenant.id) as tx:
        return {
            "registrations": tx.value("select count(*) from registrations"),
            "mail": tx.value("select count(*) from outbound_mail"),
            "hashes": tx.value("select count(*) from participants where network_hash is not null"),
            "participants": tx.value("select count(*) from participants"),
            "transcripts": tx.value("select count(*) from transcripts"),
            "audits": tx.all("select actor_kind, details from audit_log where action = 'retention.purged'"),
        }


def test_purge_follows_each_tenants_retention_period(app_ctx, stack, make_world):
    short = _closed_room_with_personal_data(make_world, retention_days=30)
    default = _closed_room_with_personal_data(make_world)
    for world in (short, default):
        _age(stack, world, 40)
    before = _state(short)
    assert before["registrations"] == 1 and before["mail"] == 1 and before["hashes"] == 1

    now = datetime.now(timezone.utc)
    retention.purge_task.run(now.isoformat())
    after = _state(short)
    assert (after["registrations"], after["mail"], after["hashes"]) == (0, 0, 0)
    assert after["participants"] == 1 and after["transcripts"] == 1   # figures and the record stay
    [audit] = after["audits"]
    assert audit["actor_kind"] == "system"
    assert audit["details"]["registrations"] == 1 and audit["details"]["network_hashes"] == 1
    assert audit["details"]["mail_messages"] == 1 and audit["details"]["retention_days"] == 30
    kept = _state(default)   # 40 days is inside the default 90
    assert (kept["registrations"], kept["mail"], kept["hashes"], kept["audits"]) == (1, 1, 1, [])

    retention.purge_task.run(now.isoformat())   # nothing more to purge: no new audit row
    assert len(_state(short)["audits"]) == 1
    retention.purge_task.run((now + timedelta(days=60)).isoformat())   # time passes for the default tenant
    later = _state(default)
    assert (later["registrations"], later["mail"], later["hashes"], later["transcripts"]) == (0, 0, 0, 1)
    assert later["audits"][0]["details"]["retention_days"] == 90


def test_recent_and_future_registrations_are_kept(app_ctx, make_world):
    world = make_world(state="scheduled")
    with tenant_scope(world.tenant.id) as tx:
        registrations.register(tx, world.room["id"], "soon@example.org")
        tx._after_commit.clear()
    assert rules.purge_tenant(world.tenant.id, datetime.now(timezone.utc) + timedelta(days=2)) == \
        {"registrations": 0, "mail_messages": 0, "network_hashes": 0, "recordings": 0}
    assert _state(world)["registrations"] == 1


def test_retention_setting_is_validated():
    assert rules.retention_days({"retention_days": 30}) == 30
    for bad in ({}, {"retention_days": 0}, {"retention_days": "30"}, {"retention_days": True}, None):
        assert rules.retention_days(bad) == rules.DEFAULT_RETENTION_DAYS
    assert rules.recordings_retention_days({"recordings_retention_days": 45}) == 45
    for kept in ({}, {"recordings_retention_days": None}, {"recordings_retention_days": "45"}, None):
        assert rules.recordings_retention_days(kept) is None


def test_the_settings_page_shows_the_period_the_task_applies(app_ctx, make_world):
    world = make_world(state="scheduled")
    with tenant_scope(world.tenant.id) as tx:
        shown = tenant_settings(tx)["retention_days"]
    assert shown == rules.DEFAULT_RETENTION_DAYS == 90
