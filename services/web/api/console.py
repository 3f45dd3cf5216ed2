"""Console pages for a tenant admin: API tokens (shown once, then only their prefix) and webhooks."""
from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, url_for
from marshmallow import EXCLUDE, Schema, fields, validate

from services.api import tokens, webhooks
from services.web.console.auth import current_staff, staff_required
from services.web.tenant_routes import tenant_blueprint
from services.web.forms import submit
from tenants.db import tenant_scope
from tenants.roles import require

bp = tenant_blueprint("api_console", __name__, "/console/api")


class TokenForm(Schema):
    class Meta:
        unknown = EXCLUDE

    name = fields.String(required=True, validate=validate.Length(1, 80),
                         error_messages={"required": "Give the token a name, such as the website that will use it."})
    scopes = fields.List(fields.String(validate=validate.OneOf(tokens.SCOPES)), load_default=list)


class WebhookForm(Schema):
    class Meta:
        unknown = EXCLUDE

    url = fields.String(required=True, validate=validate.Length(1, 500))
    events = fields.List(fields.String(validate=validate.OneOf(webhooks.EVENTS)), load_default=list)


def _page(status: int = 200, **extra):
    with tenant_scope(g.tenant.id) as tx:
        listed = {"api_tokens": tokens.list_tokens(tx), "endpoints": webhooks.list_endpoints(tx)}
    extra.setdefault("errors", {})
    return render_template("console/api.html", scopes=tokens.SCOPES, events=webhooks.EVENTS,
                           **listed, **extra), status


@bp.get("/")
@staff_required
def index():
    require(current_staff().role, "settings.edit")
    return _page()


def _form_data() -> dict:
    return {**request.form.to_dict(), **{k: request.form.getlist(k) for k in ("scopes", "events")}}


def _create(schema, prefix: str, default_field: str, make):
    """Validates the form, runs `make(tx, staff, data)` and shows its one-time result, or the errors."""
    shown, errors = submit(schema, _form_data(), lambda tx, data: make(tx, current_staff(), data))
    if errors:
        return _page(400, errors={f"{prefix}-{default_field if f == 'form' else f}": m for f, m in errors.items()})
    return _page(**shown)


@bp.post("/tokens")
@staff_required
def create_token():
    def make(tx, staff, data):
        row, token = tokens.create_token(tx, staff, data["name"], data["scopes"])
        return {"new_token": token, "new_token_name": row["name"]}
    return _create(TokenForm, "token", "name", make)


@bp.post("/tokens/<token_id>/revoke")
@staff_required
def revoke_token(token_id):
    with tenant_scope(g.tenant.id) as tx:
        tokens.revoke_token(tx, current_staff(), token_id)
    flash("Token revoked: it stops working at once.", "success")
    return redirect(url_for(".index"))


@bp.post("/webhooks")
@staff_required
def create_webhook():
    def make(tx, staff, data):
        row = webhooks.create_endpoint(tx, staff, data["url"], data["events"],
                                       production=current_app.config["TOWNHALL"].is_production)
        return {"new_secret": row["secret"], "new_secret_url": row["url"]}
    return _create(WebhookForm, "webhook", "url", make)


@bp.post("/webhooks/<endpoint_id>/delete")
@staff_required
def delete_webhook(endpoint_id):
    with tenant_scope(g.tenant.id) as tx:
        webhooks.delete_endpoint(tx, current_staff(), endpoint_id)
    flash("Webhook removed.", "success")
    return redirect(url_for(".index"))
