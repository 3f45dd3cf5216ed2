"""Plans and the limits they set, checked inside the actions that would exceed them.

A limit with an overage price is soft (going over is billed); without one it is a hard cap and
the action is refused with a message that names the limit and how to raise it. Staff seats and
concurrent participants per room are always hard caps.
"""
from __future__ import annotations

from datetime import date, datetime, timezone

from tenants.db import Tx
from tenants.errors import LimitReached

RAISE_IT = "Contact Townhall to move to a larger plan."
ROOM_FULL = "This chat is full. You can read the transcript here after it closes."


def tenant_plan(tx: Tx) -> dict:
    """The current tenant's plan row (inside its scope)."""
    return tx.one("select p.* from tenants t join plans p on p.name = t.plan where t.id = %s", [tx.tenant_id])


def month_start(moment: datetime | date) -> date:
    """The first day of the month (UTC for a datetime): billing months are UTC months."""
    if isinstance(moment, datetime) and moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return date(moment.year, moment.month, 1)


def next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def check_room_allowance(tx: Tx, starts_at: datetime) -> None:
    """Rooms per month (by the month the chat starts, UTC): a hard cap unless the plan bills overage."""
    plan = tenant_plan(tx)
    if plan is None or plan["overage_room_pence"] is not None:
        return
    month = month_start(starts_at)
    used = tx.value("select count(*) from rooms where starts_at >= %s and starts_at < %s",
                    [month, next_month(month)])
    if used >= plan["rooms_per_month"]:
        raise LimitReached(
            f"Your {plan['label']} plan includes {plan['rooms_per_month']} chats a month, and "
            f"{month:%B %Y} already has {used}. {RAISE_IT}", field="starts_at",
            details={"limit": "rooms_per_month", "included": plan["rooms_per_month"]})


def check_staff_seats(tx: Tx, *, reusing: bool = False) -> None:
    """Staff seats: admins, hosts and moderators who are active or invited (panelists are free)."""
    plan = tenant_plan(tx)
    if plan is None or reusing:
        return
    used = tx.value("select count(*) from staff_users where role <> 'panelist' and status in ('active', 'invited')")
    if used >= plan["staff_seats"]:
        raise LimitReached(
            f"Your {plan['label']} plan includes {plan['staff_seats']} staff seats and all are in use. "
            f"Remove someone who no longer needs access, or {RAISE_IT[0].lower()}{RAISE_IT[1:]}",
            field="email", details={"limit": "staff_seats", "included": plan["staff_seats"]})


def participants_per_room(tx: Tx) -> int | None:
    plan = tenant_plan(tx)
    return plan["participants_per_room"] if plan else None
