"""Platform operations on tenants: the one audited cross-tenant path.

Reads across tenants go through SECURITY DEFINER functions owned by the owner role (migration
0006: `townhall_platform_tenants` for the console list, `townhall_platform_tenant_ids` for beat,
`townhall_platform_purge_tenant`), each one operation, each writing `platform_audit`. Writes to
one tenant enter that tenant's scope explicitly (`tenant_scope(tenant_id)`), so RLS still holds,
and leave two audit rows: the tenant's `audit_log` (actor_kind 'platform') and `platform_audit`.
The app role never switches RLS off and has no BYPASSRLS.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from psycopg.types.json import Jsonb

from tenants import audit
from tenants.db import Tx, tenant_scope, unscoped
from tenants.errors import Conflict, NotFound, ValidationFailed
from tenants.platform_auth import PlatformAdmin, record

CLOSE_GRACE = timedelta(days=30)
STATES = ("trial", "active", "suspended", "closed")

# Which state changes a platform admin may make, and what each is called in the audit log.
TRANSITIONS = {
    "approve": ({"trial", "active"}, "active"),
    "suspend": ({"trial", "active"}, "suspended"),
    "reactivate": ({"suspended"}, "active"),
    "close": ({"trial", "active", "suspended"}, "closed"),
}


def _past(action: str) -> str:
    return action + ("d" if action.endswith("e") else "ed")


def list_tenants(admin: PlatformAdmin, search: str = "", month: date | None = None) -> list[dict]:
    today = datetime.now(timezone.utc).date()
    with unscoped() as tx:
        return tx.all("select * from townhall_platform_tenants(%s, %s, %s)",
                      [admin.id, search.strip()[:80], month or today.replace(day=1)])


def tenant_ids(purpose: str, now: datetime) -> list:
    with unscoped() as tx:
        return [row["townhall_platform_tenant_ids"] for row in
                tx.all("select townhall_platform_tenant_ids from townhall_platform_tenant_ids(%s, %s)", [purpose, now])]


def plans() -> list[dict]:
    with unscoped() as tx:
        return tx.all("select * from plans order by monthly_price_pence, name")


def audit_both(tx: Tx, admin: PlatformAdmin, action: str, details: dict) -> None:
    """The tenant's audit_log (actor_kind platform) and the platform's own log, in the same transaction."""
    audit.record(tx, actor_kind="platform", actor_id=admin.id, actor_label=admin.label, action=action,
                 target_kind="tenant", target_id=tx.tenant_id, details=details, ip=admin.ip)
    record(tx, admin, action, tx.tenant_id, details)


def _tenant_row(tx: Tx) -> dict:
    row = tx.one("select * from tenants where id = %s for update", [tx.tenant_id])
    if row is None:
        raise NotFound("There is no such tenant.")
    return row


def tenant_detail(tenant_id) -> dict:
    with tenant_scope(tenant_id) as tx:
        row = tx.one("select t.*, p.label as plan_label from tenants t join plans p on p.name = t.plan"
                     " where t.id = %s", [tenant_id])
        if row is None:
            raise NotFound("There is no such tenant.")
        row["usage"] = tx.all("select * from usage_monthly order by month desc limit 12")
        row["invoices"] = tx.all("select id, kind, number, period, status, total_pence, issued_at from invoices"
                                 " order by issued_at desc")
        row["exports"] = tx.all("select id, status, size_bytes, created_at, ready_at from tenant_exports"
                                " order by created_at desc")
        row["staff_count"] = tx.value("select count(*) from staff_users where role <> 'panelist'"
                                      " and status in ('active', 'invited')")
    return row


def change_state(admin: PlatformAdmin, tenant_id, action: str, *, plan: str | None = None,
                 now: datetime | None = None, after_commit=None) -> dict:
    """approve (into a plan), suspend, reactivate or close. Returns the updated tenant row."""
    if action not in TRANSITIONS:
        raise ValidationFailed("Choose approve, suspend, reactivate or close.", field="action")
    allowed_from, target = TRANSITIONS[action]
    now = now or datetime.now(timezone.utc)
    with tenant_scope(tenant_id) as tx:
        row = _tenant_row(tx)
        if row["state"] not in allowed_from:
            raise Conflict(f"{row['name']} is {row['state']}: it cannot be {_past(action)}.")
        changes: dict = {"state": target}
        if action == "approve":
            if not plan or tx.value("select 1 from plans where name = %s", [plan]) is None:
                raise ValidationFailed("Choose one of the plans.", field="plan")
            changes["plan"] = plan
        if action == "close":
            changes.update(closed_at=now, purge_after=now + CLOSE_GRACE)
        sets = ", ".join(f"{k} = %s" for k in changes)
        updated = tx.one(f"update tenants set {sets}, updated_at = now(),"
                         " settings = case when %s::text is null then settings else settings || %s end"
                         " where id = %s returning *",
                         [*changes.values(), plan, Jsonb({"plan": plan}), tenant_id])
        details = {"from": row["state"], "to": target}
        if plan:
            details["plan"] = plan
        if action == "close":
            details["purge_after"] = changes["purge_after"].isoformat()
        audit_both(tx, admin, f"tenant.{_past(action)}", details)
        if after_commit:
            after_commit(tx)
    return updated


def set_billing(admin: PlatformAdmin, tenant_id, *, billing_email: str | None, po_number: str) -> None:
    with tenant_scope(tenant_id) as tx:
        _tenant_row(tx)
        tx.execute("update tenants set billing_email = %s, po_number = %s, updated_at = now() where id = %s",
                   [billing_email or None, po_number, tenant_id])
        audit_both(tx, admin, "tenant.billing_changed", {"billing_email": billing_email or "", "po_number": po_number})
