"""Usage metering and invoices. Money is integer pence, never floats.

Usage per tenant per month is counted from PostgreSQL: rooms held (opened that month), each
room's peak concurrent participants (from `room_presence` connection intervals, written by every
live process), unique participants and questions in those rooms, caption minutes (ready media,
each rounded up to a whole minute), storage (media and transcripts, rounded up to a whole MB)
and staff seats. `rollup_month` stores it in `usage_monthly`; a month that has an invoice is frozen.

An invoice is the plan fee plus overage lines (rooms, caption minutes, storage MB beyond what the
plan includes, at the plan's price per unit). VAT is computed once per invoice on the subtotal
and rounded half up to the penny: vat = floor((subtotal * rate_bp + 5000) / 10000).
Numbers (TH-2026-000123, credit notes CN-2026-000001) come from a counter row locked FOR UPDATE
in the invoice's own transaction, so a number is used only if its invoice commits: no gaps.
A void invoice keeps its number. One invoice per tenant and period (a unique index), so
re-running a month makes nothing new.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime

from psycopg.types.json import Jsonb

from tenants import csv_safe
from tenants import audit
from tenants.db import Tx
from tenants.errors import Conflict, NotFound, ValidationFailed
from tenants.plans import next_month

MB = 1024 * 1024


def vat_pence(subtotal_pence: int, rate_bp: int) -> int:
    """VAT rounded half up to the penny (per invoice, on the subtotal). Credit notes use the same rule."""
    sign = -1 if subtotal_pence < 0 else 1
    return sign * ((abs(subtotal_pence) * rate_bp + 5000) // 10000)


def rollup_month(tx: Tx, month: date) -> dict:
    """Recount `month` for the tenant in scope and store it (unless it is already invoiced)."""
    span = {"start": month, "end": next_month(month)}
    held = "select id from rooms where opened_at >= %(start)s and opened_at < %(end)s"
    peaks = {str(r["room_id"]): r["peak"] for r in tx.all(
        f"""with held as ({held}),
        ev as (select p.room_id, p.connected_at as at, 1 as delta from room_presence p where p.room_id in (select id from held)
               union all
               select p.room_id, coalesce(p.disconnected_at, r.closed_at, now()), -1
               from room_presence p join rooms r on r.id = p.room_id where p.room_id in (select id from held))
        select room_id, max(level)::int as peak from (
          select room_id, sum(delta) over (partition by room_id order by at, delta
                                           rows between unbounded preceding and current row) as level from ev) x
        group by room_id""", span)}
    counts = tx.one(
        f"""select (select count(*) from ({held}) h)::int as rooms_held,
           (select count(*) from participants where room_id in ({held}))::int as unique_participants,
           (select count(*) from questions where room_id in ({held}))::int as questions,
           (select coalesce(sum(ceil(duration_seconds / 60.0)), 0) from media
             where status = 'ready' and created_at >= %(start)s and created_at < %(end)s)::int as caption_minutes,
           ceil(((select coalesce(sum(size_bytes), 0) from media)
                 + (select coalesce(sum(octet_length(html) + octet_length(text) + octet_length(json)
                                        + octet_length(csv) + octet_length(pdf)), 0) from transcripts))
                / %(mb)s::numeric)::int as storage_mb,
           (select count(*) from staff_users where role <> 'panelist' and status = 'active')::int as staff_seats""",
        {**span, "mb": MB})
    usage = {**counts, "peak_participants": max(peaks.values(), default=0), "room_peaks": peaks}
    if tx.value("select 1 from invoices where kind = 'invoice' and period = %s", [month]):
        return tx.one("select * from usage_monthly where month = %s", [month]) or usage
    tx.execute(
        "insert into usage_monthly (tenant_id, month, rooms_held, peak_participants, unique_participants, questions,"
        " caption_minutes, storage_mb, staff_seats, room_peaks) values (%(t)s, %(month)s, %(rooms_held)s,"
        " %(peak_participants)s, %(unique_participants)s, %(questions)s, %(caption_minutes)s, %(storage_mb)s,"
        " %(staff_seats)s, %(peaks)s) on conflict (tenant_id, month) do update set rooms_held = excluded.rooms_held,"
        " peak_participants = excluded.peak_participants, unique_participants = excluded.unique_participants,"
        " questions = excluded.questions, caption_minutes = excluded.caption_minutes, storage_mb = excluded.storage_mb,"
        " staff_seats = excluded.staff_seats, room_peaks = excluded.room_peaks, computed_at = now()",
        {**usage, "t": tx.tenant_id, "month": month, "peaks": Jsonb(peaks)})
    return usage


@dataclass(frozen=True)
class Line:
    description: str
    quantity: int
    unit_pence: int

    @property
    def amount_pence(self) -> int:
        return self.quantity * self.unit_pence


OVERAGES = (  # usage field, plan's included field, plan's price field, what the line says
    ("rooms_held", "rooms_per_month", "overage_room_pence", "Chats beyond the {n} included"),
    ("caption_minutes", "caption_minutes", "overage_caption_minute_pence", "Caption minutes beyond the {n} included"),
    ("storage_mb", "storage_mb", "overage_storage_mb_pence", "Storage (MB) beyond the {n} included"),
)


def invoice_lines(plan: dict, usage: dict, month: date) -> list[Line]:
    lines = [Line(f"{plan['label']} plan, {month:%B %Y}", 1, plan["monthly_price_pence"])]
    for used, included, price, words in OVERAGES:
        over = usage[used] - plan[included]
        if over > 0 and plan[price]:
            lines.append(Line(words.format(n=plan[included]), over, plan[price]))
    return [line for line in lines if line.amount_pence]


def _next_number(tx: Tx, series: str, year: int, check_first=None) -> str | None:
    """Lock the counter; `check_first()` (run under the lock) may decline, leaving no gap."""
    tx.execute("insert into invoice_counters (series, year) values (%s, %s) on conflict do nothing", [series, year])
    last = tx.value("select last_number from invoice_counters where series = %s and year = %s for update",
                    [series, year])
    if check_first and not check_first():
        return None
    tx.execute("update invoice_counters set last_number = %s where series = %s and year = %s",
               [last + 1, series, year])
    return f"{series}-{year}-{last + 1:06d}"


def _store(tx: Tx, *, kind: str, number: str, period: date, plan: str, lines: list[Line], rate_bp: int,
           tenant: dict, credits: dict | None = None, reason: str = "") -> dict:
    subtotal = sum(line.amount_pence for line in lines)
    vat = vat_pence(subtotal, rate_bp)
    invoice = tx.one(
        "insert into invoices (tenant_id, kind, number, period, plan, po_number, billing_email, subtotal_pence,"
        " vat_rate_bp, vat_pence, total_pence, credits_invoice_id, reason) values"
        " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) returning *",
        [tx.tenant_id, kind, number, period, plan, tenant["po_number"], tenant["billing_email"] or tenant["contact_email"],
         subtotal, rate_bp, vat, subtotal + vat, credits["id"] if credits else None, reason])
    for position, line in enumerate(lines, 1):
        tx.execute("insert into invoice_lines (tenant_id, invoice_id, position, description, quantity, unit_pence,"
                   " amount_pence) values (%s, %s, %s, %s, %s, %s, %s)",
                   [tx.tenant_id, invoice["id"], position, line.description, line.quantity, line.unit_pence,
                    line.amount_pence])
    return invoice


def generate_invoice(tx: Tx, month: date, *, rate_bp: int, now: datetime) -> dict | None:
    """The month's invoice for the tenant in scope, or None (already invoiced, or nothing to charge)."""
    existing = "select 1 from invoices where kind = 'invoice' and period = %s"
    if tx.value(existing, [month]):
        return None
    tenant = tx.one("select * from tenants where id = %s", [tx.tenant_id])
    plan = tx.one("select * from plans where name = %s", [tenant["plan"]])
    usage = rollup_month(tx, month)
    lines = invoice_lines(plan, usage, month)
    if not lines:
        return None
    number = _next_number(tx, "TH", now.year, lambda: not tx.value(existing, [month]))
    if number is None:
        return None
    invoice = _store(tx, kind="invoice", number=number, period=month, plan=plan["name"], lines=lines,
                     rate_bp=rate_bp, tenant=tenant)
    audit.record(tx, actor_kind="system", actor_label="billing", action="invoice.issued", target_kind="invoice",
                 target_id=invoice["id"], details={"number": number, "total_pence": invoice["total_pence"]})
    return invoice


def lines_of(tx: Tx, invoice_id) -> list[dict]:
    return tx.all("select * from invoice_lines where invoice_id = %s order by position", [invoice_id])


def get_invoice(tx: Tx, invoice_id, *, for_update: bool = False) -> dict:
    from tenants.ids import parse_uuid

    row = tx.one("select * from invoices where id = %s" + (" for update" if for_update else ""),
                 [parse_uuid(invoice_id)]) if parse_uuid(invoice_id) else None
    if row is None:
        raise NotFound("There is no such invoice.")
    return row


def set_status(tx: Tx, invoice_id, status: str) -> dict:
    """issued -> paid or void (a void invoice keeps its number; correct a paid one with a credit note)."""
    if status not in ("paid", "void"):
        raise ValidationFailed("Mark an invoice paid or void.", field="status")
    invoice = get_invoice(tx, invoice_id, for_update=True)
    if invoice["status"] != "issued":
        raise Conflict(f"{invoice['number']} is already {invoice['status']}.")
    stamp = "paid_at" if status == "paid" else "voided_at"
    return tx.one(f"update invoices set status = %s, {stamp} = now() where id = %s returning *",
                  [status, invoice["id"]])


def credit_note(tx: Tx, invoice_id, *, amount_pence: int, reason: str, now: datetime) -> dict:
    """A credit note against an invoice: a net amount (pence, positive) credited, with VAT at the invoice's rate."""
    invoice = get_invoice(tx, invoice_id, for_update=True)
    if invoice["kind"] != "invoice" or invoice["status"] == "void":
        raise Conflict("Credit notes are raised against an issued or paid invoice.")
    credited = -(tx.value("select coalesce(sum(subtotal_pence), 0) from invoices where credits_invoice_id = %s",
                          [invoice["id"]]))
    if amount_pence <= 0 or amount_pence > invoice["subtotal_pence"] - credited:
        raise ValidationFailed(f"Credit between 1p and {invoice['subtotal_pence'] - credited}p (the invoice's net "
                               "amount not yet credited).", field="amount_pence")
    tenant = tx.one("select * from tenants where id = %s", [tx.tenant_id])
    number = _next_number(tx, "CN", now.year)
    return _store(tx, kind="credit_note", number=number, period=invoice["period"], plan=invoice["plan"],
                  lines=[Line(f"Credit against {invoice['number']}: {reason}", 1, -amount_pence)],
                  rate_bp=invoice["vat_rate_bp"], tenant=tenant, credits=invoice, reason=reason)


def pounds(pence: int) -> str:
    sign = "-" if pence < 0 else ""
    return f"{sign}£{abs(pence) // 100:,}.{abs(pence) % 100:02d}"


def invoice_csv(invoice: dict, lines: list[dict]) -> str:
    out = io.StringIO()
    writer = csv_safe.writer(out)   # the PO number and a credit note's reason are typed by people
    writer.writerow(["number", "kind", "period", "po_number", "line", "description", "quantity", "unit_pence",
                     "amount_pence"])
    for line in lines:
        writer.writerow([invoice["number"], invoice["kind"], invoice["period"].isoformat(), invoice["po_number"],
                         line["position"], line["description"], line["quantity"], line["unit_pence"],
                         line["amount_pence"]])
    for label, key in (("Subtotal", "subtotal_pence"), (f"VAT at {invoice['vat_rate_bp'] / 100:g}%", "vat_pence"),
                       ("Total", "total_pence")):
        writer.writerow([invoice["number"], invoice["kind"], invoice["period"].isoformat(), invoice["po_number"],
                         "", label, "", "", invoice[key]])
    return out.getvalue()
