"""The tenant admin's plan, usage (month by month), invoices and full data export. These pages
work while the tenant is suspended: staff can still sign in and take their data."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import flash, g, redirect, render_template, request, url_for

from services.web.console.auth import current_staff, staff_required
from services.web.console.blueprint import bp
from services.web.forms import attempt
from services.web.platform.schemas import BillingSchema
from services.web.platform.views import export_download, invoice_download
from services.lib.validation import load
from services.web.usage_chart import usage_bars
from tenants import audit, billing, plans
from tenants.db import tenant_scope
from tenants.roles import require
from services.billing import exports


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
        details = tx.one("select billing_email, po_number, contact_email from tenants where id = %s", [g.tenant.id])
    return render_template("console/usage.html", plan=plan, months=months, bars=usage_bars(months),
                           invoices=invoices, exports=exports, pounds=billing.pounds, details=details, errors={})


@bp.post("/billing-details")
@staff_required
def billing_details():
    """The tenant's own billing contact and purchase-order number (public bodies pay against POs)."""
    staff = current_staff()
    require(staff.role, "billing.read")

    def save():
        data = load(BillingSchema, request.form | {"billing_email": request.form.get("billing_email") or None})
        with tenant_scope(g.tenant.id) as tx:
            tx.execute("update tenants set billing_email = %s, po_number = %s, updated_at = now() where id = %s",
                       [data["billing_email"], data["po_number"].strip(), g.tenant.id])
            audit.record_staff(tx, staff, "tenant.billing_changed", "tenant", g.tenant.id,
                               {"billing_email": data["billing_email"] or "", "po_number": data["po_number"].strip()})
    _, errors = attempt(save)
    for message in errors.values():
        flash(message, "error")
    if not errors:
        flash("Billing details saved. The next invoice uses them.", "success")
    return redirect(url_for(".usage", _anchor="billing-details"))


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
        row = exports.request_export(tx, staff.label)
        audit.record_staff(tx, staff, "tenant.export_requested", "export", row["id"])
    flash("Your export is being prepared. Reload this page in a minute to download it.", "success")
    return redirect(url_for(".usage", _anchor="exports"))


@bp.get("/exports/<export_id>.zip")
@staff_required
def export_file(export_id):
    require(current_staff().role, "billing.read")
    with tenant_scope(g.tenant.id) as tx:
        return export_download(tx, export_id)
