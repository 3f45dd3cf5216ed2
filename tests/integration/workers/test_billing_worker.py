"""Billing work on a real Celery worker: a suspended tenant's admin exports everything, and an
invoice reaches the billing contact with its PDF and CSV through the mail queue."""
from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime, timezone

from tenants import platform
from tenants.db import tenant_scope
from tests.support.console import admin_client, console
from tests.support.workers import wait_until
from workers import billing as billing_jobs


def test_suspended_tenant_admin_exports_everything_through_the_worker(app, make_world, worker):
    world = make_world(state="closed")
    with tenant_scope(world.tenant.id) as tx:
        tx.execute("update tenants set state = 'suspended' where id = %s", [world.tenant.id])
    staff, _ = admin_client(app, world.tenant, world.admin)
    assert staff.post(console(world.tenant, "exports")).status_code == 302
    page = wait_until(lambda: (html := staff.get(console(world.tenant, "usage")).get_data(as_text=True))
                      and "download ZIP" in html and html, timeout=30, message="export ready")
    link = re.search(r'href="([^"]+\.zip)"', page).group(1)
    download = staff.get(link)
    assert download.status_code == 200 and download.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(download.data)).namelist()
    assert "tables/rooms.json" in names and "tables/questions.csv" in names
    with tenant_scope(world.tenant.id) as tx:
        assert tx.value("select count(*) from audit_log where action = 'tenant.exported'") == 1


def test_invoice_is_emailed_to_the_billing_contact_with_pdf_and_csv(app_ctx, make_tenant, worker, sink):
    tenant = make_tenant(state="active")
    with tenant_scope(tenant.id) as tx:
        tx.execute("update tenants set plan = 'standard', billing_email = 'accounts@opcc-billing.police.uk',"
                   " po_number = 'PO-1' where id = %s", [tenant.id])
    invoice = billing_jobs.invoice_tenant(tenant.id, date(2026, 6, 1), datetime(2026, 7, 1, tzinfo=timezone.utc))
    assert (invoice["subtotal_pence"], invoice["vat_pence"], invoice["total_pence"]) == (30000, 6000, 36000)
    [message] = sink.wait_for("accounts@opcc-billing.police.uk", timeout=30)
    assert invoice["number"] in message.subject
    files = {part.get_filename(): part.get_content_type() for part in message.message.walk() if part.get_filename()}
    assert files == {f"{invoice['number']}.pdf": "application/pdf", f"{invoice['number']}.csv": "text/csv"}
    assert platform.tenant_ids("invoice", datetime(2026, 7, 1, tzinfo=timezone.utc)).count(tenant.id) == 1
