"""Plans, usage metering and invoices against real PostgreSQL: exact lines and VAT, no duplicate
invoice on a re-run, gap-free numbering after a void, credit notes."""
from __future__ import annotations

import email
from datetime import date, datetime, timedelta, timezone

import pytest

from tenants import billing, platform
from tenants.db import tenant_scope
from tenants.errors import Conflict
from services.billing import exports as exports_module
from workers import billing as billing_jobs

MONTH = date(2026, 9, 1)
NOW = datetime(2026, 10, 2, 4, 0, tzinfo=timezone.utc)
MB = 1024 * 1024


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 9, day, hour, minute, tzinfo=timezone.utc)


def simulate_month(tenant) -> list:
    """Ten chats held in September 2026, resident connections on two live processes, captions, storage."""
    with tenant_scope(tenant.id) as tx:
        rooms = [tx.value("insert into rooms (tenant_id, title, starts_at, ends_at, state, opened_at, closed_at)"
                          " values (%s, %s, %s, %s, 'closed', %s, %s) returning id",
                          [tenant.id, f"Chat number {i}", at(i + 1, 10), at(i + 1, 11), at(i + 1, 10), at(i + 1, 11)])
                 for i in range(10)]
        # A chat in October does not count for September.
        tx.execute("insert into rooms (tenant_id, title, starts_at, ends_at, state, opened_at)"
                   " values (%s, 'October chat', %s, %s, 'live', %s)",
                   [tenant.id, NOW, NOW + timedelta(hours=1), NOW])
        people = [tx.value("insert into participants (tenant_id, room_id, display_name) values (%s, %s, %s)"
                           " returning id", [tenant.id, rooms[0], f"Resident {i}"]) for i in range(4)]
        presence = [  # (participant, process, connected, disconnected): peak 3 across both processes
            (people[0], "live-a", at(1, 10, 0), at(1, 10, 30)),
            (people[1], "live-b", at(1, 10, 5), at(1, 10, 20)),
            (people[2], "live-a", at(1, 10, 10), None),           # its process died: ends at the close
            (people[3], "live-b", at(1, 10, 20), at(1, 10, 25)),  # starts as people[1] leaves: still 3
        ]
        for pid, process, start, end in presence:
            tx.execute("insert into room_presence (tenant_id, room_id, participant_id, process, connected_at,"
                       " disconnected_at) values (%s, %s, %s, %s, %s, %s)", [tenant.id, rooms[0], pid, process, start, end])
        tx.execute("insert into room_presence (tenant_id, room_id, participant_id, process, connected_at,"
                   " disconnected_at) values (%s, %s, %s, 'live-a', %s, %s)", [tenant.id, rooms[1], people[0],
                                                                                at(2, 10), at(2, 10, 1)])
        for i in range(3):
            tx.execute("insert into questions (tenant_id, room_id, participant_id, body, original_body)"
                       " values (%s, %s, %s, 'Q?', 'Q?')", [tenant.id, rooms[0], people[i]])
        # Caption minutes: 125 s -> 3, 14340 s -> 239, 600 s -> 10: 252 minutes, 12 beyond 240.
        for seconds in (125.0, 14340.0, 600.0):
            tx.execute("insert into media (tenant_id, room_id, title, kind, content_type, size_bytes, storage_path,"
                       " status, duration_seconds, created_at) values (%s, %s, 'Clip', 'audio', 'audio/wav', %s,"
                       " 'x', 'ready', %s, %s)", [tenant.id, rooms[0], 700 * MB + 1, seconds, at(5, 12)])
    return rooms


def test_vat_is_rounded_half_up_per_invoice():
    assert billing.vat_pence(38220, 2000) == 7644
    assert billing.vat_pence(20, 1750) == 4        # 3.5p rounds up
    assert billing.vat_pence(21, 1750) == 4        # 3.675p
    assert billing.vat_pence(17, 1750) == 3        # 2.975p
    assert billing.vat_pence(-20, 1750) == -4      # credit notes mirror invoices
    assert billing.pounds(38220) == "£382.20" and billing.pounds(-5) == "-£0.05"


def test_trial_tenant_approved_into_plan_is_invoiced_exactly_once_with_exact_lines(app_ctx, make_tenant, platform_admin):
    admin, _, _ = platform_admin
    tenant = make_tenant(state="trial")
    updated = platform.change_state(admin, tenant.id, "approve", plan="standard")
    assert (updated["state"], updated["plan"]) == ("active", "standard")
    platform.set_billing(admin, tenant.id, billing_email="finance@opcc.police.uk", po_number="PO-7781")
    with tenant_scope(tenant.id) as tx:
        audited = tx.all("select actor_kind, action, details from audit_log where action like 'tenant.%%' order by id")
    assert ("platform", "tenant.approved") in [(a["actor_kind"], a["action"]) for a in audited]

    rooms = simulate_month(tenant)
    numbers = billing_jobs.invoice_month(NOW)
    with tenant_scope(tenant.id) as tx:
        usage = tx.one("select * from usage_monthly where month = %s", [MONTH])
        invoice = tx.one("select * from invoices where period = %s", [MONTH])
        lines = [(l["description"], l["quantity"], l["unit_pence"], l["amount_pence"])
                 for l in billing.lines_of(tx, invoice["id"])]
        mail = tx.one("select * from outbound_mail where ref = %s", [f"invoice:{invoice['id']}"])
    assert invoice["number"] in numbers
    assert (usage["rooms_held"], usage["peak_participants"], usage["unique_participants"], usage["questions"],
            usage["caption_minutes"], usage["storage_mb"]) == (10, 3, 4, 3, 252, 2101)
    assert usage["room_peaks"] == {str(rooms[0]): 3, str(rooms[1]): 1}
    assert lines == [
        ("Standard plan, September 2026", 1, 30000, 30000),
        ("Chats beyond the 8 included", 2, 4000, 8000),
        ("Caption minutes beyond the 240 included", 12, 10, 120),
        ("Storage (MB) beyond the 2000 included", 101, 1, 101),
    ]
    assert (invoice["subtotal_pence"], invoice["vat_rate_bp"], invoice["vat_pence"], invoice["total_pence"]) == \
        (38221, 2000, 7644, 45865)                      # 7644.2p rounds to 7644p
    assert invoice["po_number"] == "PO-7781" and invoice["number"].startswith("TH-2026-")
    assert bytes(invoice["pdf"]).startswith(b"%PDF") and "PO-7781" in invoice["csv"]
    assert invoice["csv"].splitlines()[-1].endswith(",45865")
    message = email.message_from_bytes(bytes(mail["message"]))
    assert mail["to_address"] == "finance@opcc.police.uk"
    assert sorted(p.get_filename() for p in message.walk() if p.get_filename()) == \
        [f"{invoice['number']}.csv", f"{invoice['number']}.pdf"]

    assert billing_jobs.invoice_month(NOW) == []        # re-running the month
    assert billing_jobs.invoice_month(NOW + timedelta(days=1)) == []
    with tenant_scope(tenant.id) as tx:
        assert tx.value("select count(*) from invoices where period = %s", [MONTH]) == 1
        assert tx.value("select count(*) from outbound_mail where kind = 'invoice'") == 1


def test_numbering_has_no_gap_after_a_void_and_credit_notes_correct(app_ctx, make_tenant, platform_admin):
    admin, _, _ = platform_admin
    first, second = make_tenant(state="trial"), make_tenant(state="trial")
    for t in (first, second):
        platform.change_state(admin, t.id, "approve", plan="standard")
    month = date(2026, 7, 1)
    now = datetime(2026, 8, 1, 4, tzinfo=timezone.utc)
    a = billing_jobs.invoice_tenant(first.id, month, now)
    with tenant_scope(first.id) as tx:
        voided = billing.set_status(tx, a["id"], "void")
        with pytest.raises(Conflict):
            billing.set_status(tx, a["id"], "paid")
    assert voided["status"] == "void" and voided["number"] == a["number"]
    b = billing_jobs.invoice_tenant(second.id, month, now)
    assert billing_jobs.invoice_tenant(first.id, month, now) is None   # the void one still holds the period
    year, seq = a["number"].rsplit("-", 1)
    assert b["number"] == f"{year}-{int(seq) + 1:06d}"
    with tenant_scope(second.id) as tx:
        note = billing.credit_note(tx, b["id"], amount_pence=1001, reason="Outage on 3 July", now=now)
        paid = billing.set_status(tx, b["id"], "paid")
    assert note["number"].startswith("CN-2026-") and note["credits_invoice_id"] == b["id"]
    assert (note["subtotal_pence"], note["vat_pence"], note["total_pence"]) == (-1001, -200, -1201)
    assert paid["status"] == "paid" and paid["paid_at"] is not None


def test_app_role_still_cannot_read_across_tenants(app_ctx, config, make_tenant, platform_admin):
    """The platform path is functions and explicit scopes: the app role itself sees one tenant at most."""
    import psycopg
    from psycopg.rows import dict_row

    admin, _, _ = platform_admin
    a, b = make_tenant(), make_tenant()
    with tenant_scope(b.id) as tx:
        billing.rollup_month(tx, MONTH)
    with psycopg.connect(config.app_database_url, row_factory=dict_row) as conn:
        assert conn.execute("select count(*) as n from tenants").fetchone()["n"] == 0
        assert conn.execute("select count(*) as n from usage_monthly").fetchone()["n"] == 0
        conn.execute("select set_config('app.tenant_id', %s, true)", [str(a.id)])
        assert conn.execute("select count(*) as n from usage_monthly where tenant_id = %s", [b.id]).fetchone()["n"] == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select * from townhall_platform_tenants(%s, '', %s)", [a.id, MONTH])  # not an admin
    listed = {t["slug"] for t in platform.list_tenants(admin, search=b.slug)}
    assert listed == {b.slug}


def test_close_exports_everything_then_purges_after_the_grace_period(app_ctx, make_world, platform_admin):
    import io
    import json
    import zipfile

    from tenants.platform import tenant_ids

    admin, _, _ = platform_admin
    world = make_world(state="closed")
    other = make_world(state="draft")
    with tenant_scope(world.tenant.id) as tx:
        tx.execute("insert into transcripts (tenant_id, room_id, html, text, json, csv, pdf, figures, digest)"
                   " values (%s, %s, '<p>t</p>', 'transcript text', '{}', '', '%%PDF-1.7', '{}', 'd')",
                   [world.tenant.id, world.room["id"]])
    closed_at = datetime(2026, 11, 1, 12, tzinfo=timezone.utc)
    exports = []
    updated = platform.change_state(admin, world.tenant.id, "close", now=closed_at,
                                    after_commit=lambda tx: exports.append(exports_module.request_export(tx, admin.label)))
    assert updated["state"] == "closed" and updated["purge_after"] == closed_at + timedelta(days=30)
    assert exports_module.run_export(world.tenant.id, exports[0]["id"]) == "ready"
    with tenant_scope(world.tenant.id) as tx:
        data = bytes(tx.value("select zip from tenant_exports where id = %s", [exports[0]["id"]]))
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = set(archive.namelist())
    assert {"tenant.json", "tables/rooms.json", "tables/rooms.csv", "tables/staff_users.csv", "tables/audit_log.json",
            f"transcripts/{world.room['id']}.txt", f"transcripts/{world.room['id']}.pdf"} <= names
    staff = json.loads(archive.read("tables/staff_users.json"))
    assert {s["email"] for s in staff} == {world.admin.email, world.host.email, world.moderator.email}
    assert all("password_hash" not in s for s in staff)              # secrets stay out
    assert str(other.tenant.id) not in archive.read("tables/rooms.json").decode()

    assert billing_jobs.purge(closed_at + timedelta(days=29)) == 0   # still in its grace period
    assert world.tenant.id not in tenant_ids("purge", closed_at + timedelta(days=29))
    assert billing_jobs.purge(closed_at + timedelta(days=30, minutes=1)) == 1
    with tenant_scope(world.tenant.id) as tx:
        assert tx.value("select count(*) from rooms") == 0
    with tenant_scope(other.tenant.id) as tx:
        assert tx.value("select count(*) from rooms") == 1           # nobody else's data
    from tenants.db import unscoped
    with unscoped() as tx:
        purged = tx.one("select actor_label, details from platform_audit where action = 'tenant.purged'"
                        " and tenant_ref = %s", [world.tenant.id])
    assert purged == {"actor_label": "beat:purge", "details": {"slug": world.tenant.slug}}


def test_concurrent_runs_make_one_invoice_and_use_one_number(app, app_ctx, make_tenant, platform_admin):
    import threading

    admin, _, _ = platform_admin
    tenant = make_tenant(state="trial")
    platform.change_state(admin, tenant.id, "approve", plan="large")
    month, now = date(2026, 3, 1), datetime(2026, 4, 1, 4, tzinfo=timezone.utc)
    from tenants.db import unscoped
    with unscoped() as tx:
        before = tx.value("select coalesce(max(last_number), 0) from invoice_counters where series = 'TH' and year = 2026")
    results, barrier = [], threading.Barrier(3)

    def run():
        with app.app_context():
            barrier.wait()
            results.append(billing_jobs.invoice_tenant(tenant.id, month, now))
    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    made = [r for r in results if r]
    assert len(results) == 3 and len(made) == 1
    with unscoped() as tx:
        after = tx.value("select last_number from invoice_counters where series = 'TH' and year = 2026")
    assert after == before + 1 and made[0]["number"] == f"TH-2026-{after:06d}"
    assert (made[0]["subtotal_pence"], made[0]["vat_pence"], made[0]["total_pence"]) == (75000, 15000, 90000)
