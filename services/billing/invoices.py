"""An invoice's documents (PDF/UA and CSV), stored on the invoice and emailed to the billing contact."""
from __future__ import annotations

from flask import render_template

from services.lib.pdf import html_to_pdf
from services.mail.outbox import Attachment, brand_colour, queue_mail, render
from tenants import billing
from tenants.db import Tx


def render_documents(tx: Tx, invoice: dict) -> tuple[bytes, str]:
    lines = billing.lines_of(tx, invoice["id"])
    tenant = tx.one("select name, slug from tenants where id = %s", [tx.tenant_id])
    html = render_template("billing/invoice_pdf.html", invoice=invoice, lines=lines, tenant=tenant,
                           pounds=billing.pounds)
    pdf = html_to_pdf(html)
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
