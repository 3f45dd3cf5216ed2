"""Residents' data rights pages: ask for a copy or deletion of your data by email, and confirm
it from the link we send. The answer to the form is the same whether or not we hold the email."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from marshmallow import fields, validate

from services.lib import ratelimit
from services.engagement import data_rights, neighbourhoods
from services.lib.i18n import current_lang, reader_sentence
from services.web.request_info import client_ip
from services.residents.schemas import RegisterSchema
from services.web.tenant_routes import tenant_blueprint
from services.lib.validation import load
from tenants.db import tenant_scope
from tenants.errors import DomainError

bp = tenant_blueprint("engagement_residents", __name__)
CHOOSE_KIND = _l("Choose what you would like us to do.")


class DataRequestSchema(RegisterSchema):
    kind = fields.String(required=True, validate=validate.OneOf(("access", "deletion"), error=CHOOSE_KIND),
                         error_messages={"required": CHOOSE_KIND})


@bp.route("/your-data", methods=["GET", "POST"])
def your_data():
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            data = load(DataRequestSchema, request.form)
            ratelimit.hit(f"data-request:{g.tenant.id}:{client_ip()}", limit=5, window_seconds=3600,
                          message=_("Too many requests from your connection. Please try again later."))
            with tenant_scope(g.tenant.id) as tx:
                data_rights.request_rights(tx, data["email"], data["kind"], current_lang())
        except DomainError as exc:
            errors = {exc.field or "email": reader_sentence(exc)}
        else:
            flash(_("Thank you. If we hold this email address, we have sent it a link: open it to confirm "
                    "your request."), "success")
            return redirect(url_for(".your_data"))
    return render_template("residents/your_data.html", errors=errors, form=request.form), (400 if errors else 200)


@bp.route("/your-data/verify/<token>", methods=["GET", "POST"])
def verify(token):
    """GET shows a button (mail scanners follow links); POST confirms."""
    with tenant_scope(g.tenant.id) as tx:
        row = data_rights.verify(tx, token) if request.method == "POST" else data_rights.lookup(tx, token)
    return render_template("residents/your_data_verify.html", row=row, token=token)


@bp.get("/neighbourhoods")
def neighbourhoods_page():
    with tenant_scope(g.tenant.id) as tx:
        rows = neighbourhoods.list_neighbourhoods(tx)
    return render_template("residents/neighbourhoods.html", neighbourhoods=rows)


@bp.get("/neighbourhoods/<slug>")
def neighbourhood(slug):
    with tenant_scope(g.tenant.id) as tx:
        data = neighbourhoods.public_neighbourhood(tx, slug)
    return render_template("residents/neighbourhood.html", **data)


@bp.get("/neighbourhoods/<slug>.ics")
def neighbourhood_calendar(slug):
    with tenant_scope(g.tenant.id) as tx:
        data = neighbourhoods.public_neighbourhood(tx, slug)
        tenant = tx.one("select id, slug, name from tenants where id = %s", [g.tenant.id])
    return neighbourhoods.calendar(tenant, data), 200, {
        "Content-Type": "text/calendar; charset=utf-8",
        "Content-Disposition": f'inline; filename="{data["neighbourhood"]["slug"]}.ics"'}
