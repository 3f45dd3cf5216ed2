"""Billing jobs: usage roll-ups, monthly invoices (PDF, CSV, emailed), tenant exports and purges.

Beat finds tenants through `townhall_platform_tenant_ids` (ids only) and each tenant's work runs
inside its own `tenant_scope`. Every job is idempotent: a roll-up recomputes from the source rows,
an invoice exists at most once per tenant and period, an export is claimed by its status.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from flask import current_app

from tenants import billing
from tenants.db import tenant_scope, unscoped
from tenants.plans import month_start
from tenants.platform import tenant_ids
from services.ops import jobs
from workers.celery_app import celery_app, moment
from services.billing.exports import run_export
from services.billing.invoices import deliver

log = logging.getLogger(__name__)



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

@celery_app.task(name=jobs.BUILD_EXPORT, acks_late=True)
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
