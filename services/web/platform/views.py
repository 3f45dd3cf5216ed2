"""Platform console pages (thin: parse, call tenants.platform / tenants.billing, render)."""
from __future__ import annotations

import segno
from flask import Blueprint, Response, flash, g, jsonify, redirect, render_template, request, url_for

from services.web.forms import attempt, field_errors, with_code
from tenants.ids import parse_uuid
from services.web.platform import auth
from services.web.platform.schemas import (BillingSchema, CreditSchema, InvoiceStatusSchema,
                                       SearchSchema, SignInSchema, StateSchema)
from services.web.request_info import client_ip
from services.web.sign_in_limit import limited_sign_in
from services.web.usage_chart import usage_bars
from services.lib.validation import load
from tenants import billing, platform, platform_auth
from tenants.db import tenant_scope, unscoped
from tenants.errors import DomainError, NotFound, RateLimited
from services.billing.exports import request_export
from services.billing.invoices import deliver as deliver_invoice

bp = Blueprint("platform", __name__, url_prefix="/platform")


@bp.before_request
def platform_host_only():
    auth.platform_host_only()
    g.pop("platform_admin", None)
    g.platform_console = True


def _tenant_id(value):
    tenant_id = parse_uuid(value)
    if tenant_id is None:
        raise NotFound("There is no such tenant.")
    return tenant_id


# --- signing in ----------------------------------------------------------------------------

@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    errors: dict[str, str] = {}
    if request.method == "POST":
        def check():
            data = load(SignInSchema, request.form)
            with unscoped() as tx:
                return platform_auth.sign_in(tx, email=data["email"], password=data["password"], ip=client_ip())
        try:
            outcome = limited_sign_in(check)
        except RateLimited as exc:   # the network's limit or a locked account: say when to come back
            return render_template("platform/sign_in.html", errors={"form": exc.message}, form=request.form), \
                429, {"Retry-After": str(exc.retry_after)}
        except DomainError as exc:
            errors = field_errors(exc)
        else:
            step = ".sign_in_code" if outcome.stage == "mfa" else ".totp_setup"
            return auth.set_cookie(redirect(url_for(step)), outcome.token)
    status = 400 if errors else 200
    if errors.get("form", "").startswith("That email and password"):
        status = 403
    return render_template("platform/sign_in.html", errors=errors, form=request.form), status


def _code_step(step):
    return with_code(step, unscoped, auth.session_token(), client_ip())


@bp.route("/sign-in/code", methods=["GET", "POST"])
def sign_in_code():
    with unscoped() as tx:
        waiting = platform_auth.session_stage(tx, auth.session_token())
    if waiting is None or waiting[1] != "mfa":
        flash(platform_auth.TIMED_OUT, "error")
        return redirect(url_for(".sign_in"))
    errors: dict[str, str] = {}
    if request.method == "POST":
        outcome, errors = _code_step(platform_auth.complete_mfa)
        if not errors:
            return auth.set_cookie(redirect(url_for(".tenants")), outcome.token)
    return render_template("platform/sign_in_code.html", errors=errors), (400 if errors else 200)


@bp.route("/two-step", methods=["GET", "POST"])
def totp_setup():
    with unscoped() as tx:
        waiting = platform_auth.session_stage(tx, auth.session_token())
        if waiting is None or waiting[1] != "setup":
            flash(platform_auth.TIMED_OUT, "error")
            return redirect(url_for(".sign_in"))
        admin = waiting[0]
        secret = platform_auth.begin_totp_setup(tx, admin.id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        outcome, errors = _code_step(platform_auth.confirm_totp_setup)
        if not errors:
            flash("Two-step verification is on. You will be asked for a code each time you sign in.", "success")
            return auth.set_cookie(redirect(url_for(".tenants")), outcome.token)
    uri = platform_auth.totp_uri(secret, admin.email)
    qr = segno.make(uri, error="m").svg_data_uri(scale=5, border=2, dark="#0b0c0c", light="#ffffff")
    return render_template("platform/totp_setup.html", errors=errors, secret=secret, qr=qr), (400 if errors else 200)


@bp.post("/sign-out")
def sign_out():
    token = auth.session_token()
    if token:
        with unscoped() as tx:
            platform_auth.sign_out(tx, token)
    return auth.clear_cookie(redirect(url_for(".sign_in")))


# --- tenants -------------------------------------------------------------------------------

@bp.get("/")
@auth.platform_required
def tenants():
    search = load(SearchSchema, request.args)["q"]
    rows = platform.list_tenants(auth.current_admin(), search)
    return render_template("platform/tenants.html", tenants=rows, q=search)


@bp.get("/audit")
@auth.platform_required
def audit_log():
    """The platform's own audit log, newest first (every tenant's log also has its platform rows)."""
    with unscoped() as tx:
        rows = tx.all("select at, actor_label, action, tenant_ref, details, ip from platform_audit"
                      " order by id desc limit 200")
    return render_template("platform/audit.html", rows=rows)


@bp.get("/api/tenants")
@auth.platform_required
def api_tenants():
    search = load(SearchSchema, request.args)["q"]
    rows = platform.list_tenants(auth.current_admin(), search)
    keys = ("id", "slug", "name", "state", "plan", "rooms_held", "peak_participants", "unique_participants",
            "caption_minutes", "unpaid_pence")
    return jsonify({"tenants": [{k: str(r[k]) if k == "id" else r[k] for k in keys} for r in rows]})


@bp.get("/tenants/<tenant_id>")
@auth.platform_required
def tenant(tenant_id):
    detail = platform.tenant_detail(_tenant_id(tenant_id))
    return render_template("platform/tenant.html", t=detail, plans=platform.plans(), errors={},
                           bars=usage_bars(detail["usage"]), pounds=billing.pounds)


def _back(tenant_id):
    return redirect(url_for(".tenant", tenant_id=tenant_id))


def _flash_outcome(errors: dict, done: str) -> None:
    if errors:
        for message in errors.values():
            flash(message, "error")
    else:
        flash(done, "success")


@bp.post("/tenants/<tenant_id>/state")
@auth.platform_required
def change_state(tenant_id):
    tid = _tenant_id(tenant_id)

    def run():
        data = load(StateSchema, request.form)
        export = None
        if data["action"] == "close":
            export = lambda tx: request_export(tx, auth.current_admin().label)  # noqa: E731
        return platform.change_state(auth.current_admin(), tid, data["action"], plan=data.get("plan"),
                                     after_commit=export)
    updated, errors = attempt(run)
    _flash_outcome(errors, f"{updated['name']} is now {updated['state']}." if updated else "")
    return _back(tid)


@bp.post("/tenants/<tenant_id>/billing")
@auth.platform_required
def change_billing(tenant_id):
    tid = _tenant_id(tenant_id)

    def run():
        data = load(BillingSchema, request.form | {"billing_email": request.form.get("billing_email") or None})
        platform.set_billing(auth.current_admin(), tid, billing_email=data["billing_email"],
                             po_number=data["po_number"].strip())
    _, errors = attempt(run)
    _flash_outcome(errors, "Billing details saved.")
    return _back(tid)


def _invoice_action(tenant_id, invoice_id, action, audit_action: str, done: str):
    tid = _tenant_id(tenant_id)
    admin = auth.current_admin()

    def run():
        with tenant_scope(tid) as tx:
            invoice = action(tx)
            platform.audit_both(tx, admin, audit_action,
                                 {"number": invoice["number"], "invoice_id": str(invoice_id)})
            if invoice["kind"] == "credit_note":
                deliver_invoice(tx, invoice)
            return invoice
    invoice, errors = attempt(run)
    _flash_outcome(errors, f"{done} {invoice['number']}." if invoice else "")
    return _back(tid)


@bp.post("/tenants/<tenant_id>/invoices/<invoice_id>/status")
@auth.platform_required
def invoice_status(tenant_id, invoice_id):
    status = request.form.get("status", "")
    return _invoice_action(tenant_id, invoice_id,
                           lambda tx: billing.set_status(tx, invoice_id, load(InvoiceStatusSchema, request.form)["status"]),
                           f"invoice.{status}" if status in ("paid", "void") else "invoice.status",
                           "Marked paid" if status == "paid" else "Voided")


@bp.post("/tenants/<tenant_id>/invoices/<invoice_id>/credit")
@auth.platform_required
def credit_note(tenant_id, invoice_id):
    def make(tx):
        from datetime import datetime, timezone
        data = load(CreditSchema, request.form)
        return billing.credit_note(tx, invoice_id, amount_pence=data["amount_pence"], reason=data["reason"],
                                   now=datetime.now(timezone.utc))
    return _invoice_action(tenant_id, invoice_id, make, "invoice.credit_note", "Credited with")


@bp.get("/tenants/<tenant_id>/invoices/<invoice_id>.<fmt>")
@auth.platform_required
def invoice_file(tenant_id, invoice_id, fmt):
    with tenant_scope(_tenant_id(tenant_id)) as tx:
        return invoice_download(tx, invoice_id, fmt)


def invoice_download(tx, invoice_id, fmt: str) -> Response:
    """An invoice's PDF or CSV (shared with the tenant console)."""
    invoice = billing.get_invoice(tx, invoice_id)
    if fmt not in ("pdf", "csv") or invoice[fmt] is None:
        raise NotFound("That file is not ready yet.")
    body, mime = (bytes(invoice["pdf"]), "application/pdf") if fmt == "pdf" else (invoice["csv"], "text/csv")
    return Response(body, mimetype=mime,
                    headers={"Content-Disposition": f'attachment; filename="{invoice["number"]}.{fmt}"'})


@bp.get("/tenants/<tenant_id>/exports/<export_id>.zip")
@auth.platform_required
def export_file(tenant_id, export_id):
    with tenant_scope(_tenant_id(tenant_id)) as tx:
        return export_download(tx, export_id)


def export_download(tx, export_id) -> Response:
    row = tx.one("select zip, created_at from tenant_exports where id = %s and status = 'ready'",
                 [parse_uuid(export_id)]) if parse_uuid(export_id) else None
    if row is None:
        raise NotFound("That export is not ready yet.")
    name = f"townhall-export-{row['created_at']:%Y%m%d-%H%M}.zip"
    return Response(bytes(row["zip"]), mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
