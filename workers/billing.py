"""Billing jobs: usage roll-ups, monthly invoices (PDF, CSV, emailed), tenant exports and purges.

Beat finds tenants through `townhall_platform_tenant_ids` (ids only) and each tenant's work runs
inside its own `tenant_scope`. Every job is idempotent: a roll-up recomputes from the source rows,
an invoice exists at most once per tenant and period, an export is claimed by its status.
"""
from __future__ import annotations

import base64
import csv
import io
import json
import logging
import zipfile
from datetime import date, datetime, timedelta

from flask import current_app, render_template
from psycopg import sql

from services.csv_safe import safe_cell
from tenants import audit, billing
from tenants.db import Tx, tenant_scope, unscoped
from tenants.plans import month_start
from tenants.platform import tenant_ids
from workers.celery_app import celery_app, enqueue, moment
from workers.mail import Attachment, brand_colour, queue_mail, render

log = logging.getLogger(__name__)

SECRET_COLUMNS = {"password_hash", "totp_secret", "totp_pending_secret", "token_hash", "verification_token"}


def previous_month(now: datetime) -> date:
    return month_start(month_start(now) - timedelta(days=1))


# --- usage ---------------------------------------------------------------------------------

def rollup(now: datetime) -> int:
    """This month's usage for every tenant (and last month's, until it is invoiced)."""
    months = {month_start(now), previous_month(now)}
    for tenant_id in tenant_ids("usage", now):
        with tenant_scope(tenant_id) as tx:
            for month in months:
                billing.rollup_month(tx, month)
    return len(months)


@celery_app.task(name="townhall.billing.rollup", acks_late=True)
def rollup_task(now: str | None = None) -> int:
    return rollup(moment(now))


# --- invoices ------------------------------------------------------------------------------

def render_documents(tx: Tx, invoice: dict) -> tuple[bytes, str]:
    from weasyprint import HTML  # heavy import: only in the process that builds

    lines = billing.lines_of(tx, invoice["id"])
    tenant = tx.one("select name, slug from tenants where id = %s", [tx.tenant_id])
    html = render_template("billing/invoice_pdf.html", invoice=invoice, lines=lines, tenant=tenant,
                           pounds=billing.pounds)
    pdf = HTML(string=html).write_pdf(pdf_variant="pdf/ua-1")
    return pdf, billing.invoice_csv(invoice, lines)


def deliver(tx: Tx, invoice: dict) -> dict:
    """Store the PDF and CSV and email both to the billing contact (once per invoice)."""
    pdf, csv_text = render_documents(tx, invoice)
    invoice = tx.one("update invoices set pdf = %s, csv = %s where id = %s returning *", [pdf, csv_text, invoice["id"]])
    tenant = tx.one("select * from tenants where id = %s", [tx.tenant_id])
    to = invoice["billing_email"]
    if to:
        rendered = render("invoice", invoice=invoice, tenant=tenant, brand=brand_colour(tenant["settings"]),
                          lang="en", pounds=billing.pounds)
        queue_mail(tx, ref=f"invoice:{invoice['id']}", kind="invoice", to=to, rendered=rendered,
                   sender_name="Townhall billing",
                   attachments=(Attachment(f"{invoice['number']}.pdf", "application/pdf", pdf),
                                Attachment(f"{invoice['number']}.csv", "text/csv", csv_text.encode())))
    return invoice


def invoice_tenant(tenant_id, month: date, now: datetime) -> dict | None:
    rate_bp = current_app.config["TOWNHALL"].vat_rate_bp
    with tenant_scope(tenant_id) as tx:
        invoice = billing.generate_invoice(tx, month, rate_bp=rate_bp, now=now)
        if invoice:
            invoice = deliver(tx, invoice)
    return invoice


def invoice_month(now: datetime, month: date | None = None) -> list[str]:
    """Invoices for `month` (default: last month) for every paying tenant; returns the new numbers."""
    month = month or previous_month(now)
    numbers = []
    for tenant_id in tenant_ids("invoice", now):
        try:
            invoice = invoice_tenant(tenant_id, month, now)
        except Exception:
            log.exception("invoice for tenant %s failed; the next run retries", tenant_id)
            continue
        if invoice:
            numbers.append(invoice["number"])
    return numbers


@celery_app.task(name="townhall.billing.invoices", acks_late=True)
def invoices_task(now: str | None = None, month: str | None = None) -> list[str]:
    return invoice_month(moment(now), date.fromisoformat(month) if month else None)


# --- exports and purges ----------------------------------------------------------------------

def _plain(value):
    if isinstance(value, (bytes, memoryview)):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, (dict, list)):
        return value
    return value if value is None or isinstance(value, (int, float, bool, str)) else str(value)


def build_export(tx: Tx) -> bytes:
    """A ZIP of every tenant-owned table (JSON and CSV) and the transcripts, for the tenant in scope."""
    tables = [r["table_name"] for r in tx.all(
        "select distinct c.table_name from information_schema.columns c join information_schema.tables t"
        " on t.table_name = c.table_name and t.table_schema = c.table_schema"
        " where c.table_schema = 'public' and c.column_name = 'tenant_id' and t.table_type = 'BASE TABLE'"
        " and c.table_name <> 'tenant_exports' order by 1")]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        tenant = tx.one("select * from tenants where id = %s", [tx.tenant_id])
        zf.writestr("tenant.json", json.dumps({k: _plain(v) for k, v in tenant.items()}, indent=1))
        for table in tables:
            rows = [{k: _plain(v) for k, v in row.items() if k not in SECRET_COLUMNS}
                    for row in tx.all(sql.SQL("select * from {}").format(sql.Identifier(table)))]
            zf.writestr(f"tables/{table}.json", json.dumps(rows, indent=1, default=str))
            text = io.StringIO()
            if rows:
                writer = csv.DictWriter(text, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows({k: safe_cell(json.dumps(v) if isinstance(v, (dict, list)) else v)
                                  for k, v in r.items()} for r in rows)   # residents' text must not run as a formula
            zf.writestr(f"tables/{table}.csv", text.getvalue())
        for t in tx.all("select room_id, html, text, pdf from transcripts"):
            zf.writestr(f"transcripts/{t['room_id']}.html", t["html"])
            zf.writestr(f"transcripts/{t['room_id']}.txt", t["text"])
            zf.writestr(f"transcripts/{t['room_id']}.pdf", bytes(t["pdf"]))
    return out.getvalue()


def request_export(tx: Tx, requested_by: str) -> dict:
    row = tx.one("insert into tenant_exports (tenant_id, requested_by) values (%s, %s) returning *",
                 [tx.tenant_id, requested_by])
    tenant_id = tx.tenant_id
    tx.after_commit(lambda: enqueue(export_task, str(tenant_id), str(row["id"])))
    return row


def run_export(tenant_id, export_id) -> str:
    with tenant_scope(tenant_id) as tx:
        row = tx.one("select * from tenant_exports where id = %s for update skip locked", [export_id])
        if row is None or row["status"] == "ready":
            return "skipped"
        data = build_export(tx)
        tx.execute("update tenant_exports set status = 'ready', zip = %s, size_bytes = %s, ready_at = now()"
                   " where id = %s", [data, len(data), export_id])
        audit.record(tx, actor_kind="system", actor_label="export", action="tenant.exported",
                     target_kind="export", target_id=export_id, details={"bytes": len(data)})
    return "ready"


@celery_app.task(name="townhall.billing.export", acks_late=True)
def export_task(tenant_id: str, export_id: str) -> str:
    return run_export(tenant_id, export_id)


def purge(now: datetime) -> int:
    """Closed tenants past their grace period are deleted (each through the audited function)."""
    purged = 0
    for tenant_id in tenant_ids("purge", now):
        with unscoped() as tx:
            purged += bool(tx.value("select townhall_platform_purge_tenant(%s, %s, 'beat:purge')", [tenant_id, now]))
    return purged


@celery_app.task(name="townhall.billing.purge", acks_late=True)
def purge_task(now: str | None = None) -> int:
    return purge(moment(now))
