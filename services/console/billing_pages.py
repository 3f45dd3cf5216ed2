"""The tenant admin's plan, usage (month by month), invoices and full data export. These pages
work while the tenant is suspended: staff can still sign in and take their data."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import flash, g, redirect, render_template, url_for

from services.console.auth import current_staff, staff_required
from services.console.views import bp
from services.platform.views import export_download, invoice_download
from services.usage_chart import usage_bars
from tenants import audit, billing, plans
from tenants.db import tenant_scope
from tenants.roles import require
from workers import billing as billing_jobs


@bp.get("/usage")
@staff_required
def usage():
    require(current_staff().role, "billing.read")
    with tenant_scope(g.tenant.id) as tx:
        billing.rollup_month(tx, plans.month_start(datetime.now(timezone.utc)))  # this month, fresh
        plan = plans.tenant_plan(tx)
        months = tx.all("select * from usage_monthly order by month desc limit 12")
        invoices = tx.all("select id, kind, number, period, status, total_pence, po_number from invoices"
                          " order by issued_at desc")
        exports = tx.all("select id, status, size_bytes, created_at from tenant_exports order by created_at desc")
    return render_template("console/usage.html", plan=plan, months=months, bars=usage_bars(months),
                           invoices=invoices, exports=exports, pounds=billing.pounds)


@bp.get("/invoices/<invoice_id>.<fmt>")
@staff_required
def invoice_file(invoice_id, fmt):
    require(current_staff().role, "billing.read")
    with tenant_scope(g.tenant.id) as tx:
        return invoice_download(tx, invoice_id, fmt)


@bp.post("/exports")
@staff_required
def request_export():
    staff = current_staff()
    require(staff.role, "billing.read")
    with tenant_scope(g.tenant.id) as tx:
        row = billing_jobs.request_export(tx, staff.label)
        audit.record_staff(tx, staff, "tenant.export_requested", "export", row["id"])
    flash("Your export is being prepared. Reload this page in a minute to download it.", "success")
    return redirect(url_for(".usage", _anchor="exports"))


@bp.get("/exports/<export_id>.zip")
@staff_required
def export_file(export_id):
    require(current_staff().role, "billing.read")
    with tenant_scope(g.tenant.id) as tx:
        return export_download(tx, export_id)
