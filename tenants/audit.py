"""The audit log: who did what, when, from where. Append-only for the application role."""
from __future__ import annotations

from psycopg.types.json import Jsonb

from tenants.db import Tx


def record(tx: Tx, *, actor_kind: str, actor_id=None, actor_label: str = "", action: str,
           target_kind: str = "", target_id="", details: dict | None = None, ip: str | None = None) -> None:
    tx.execute(
        "insert into audit_log (tenant_id, actor_kind, actor_id, actor_label, action,"
        " target_kind, target_id, details, ip) values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        [tx.tenant_id, actor_kind, actor_id, actor_label, action, target_kind, str(target_id or ""),
         Jsonb(details or {}), ip],
    )


def record_staff(tx: Tx, staff, action: str, target_kind: str = "", target_id="", details: dict | None = None) -> None:
    """An audit row for a staff member's action (`staff` is a tenants.auth.Staff)."""
    record(tx, actor_kind="staff", actor_id=staff.id, actor_label=staff.label, action=action,
           target_kind=target_kind, target_id=target_id, details=details, ip=staff.ip)
