"""Single sign-on with the tenant's OpenID Connect provider (see tenants/sso.py)."""
from __future__ import annotations

from flask import abort, flash, g, redirect, request, session, url_for

from services.web.console.auth import safe_next, set_session_cookie
from services.web.console.blueprint import bp
from services.web.console.views import after_first_factor
from services.web.request_info import client_ip
from tenants import sso
from tenants.branding import tenant_settings
from tenants.db import tenant_scope
from tenants.errors import DomainError

PENDING = "sso_pending"


def _config() -> sso.SsoConfig | None:
    with tenant_scope(g.tenant.id) as tx:
        return sso.config_from(tenant_settings(tx))


def _redirect_uri() -> str:
    return url_for(".sso_callback", _external=True)


@bp.get("/sso/start")
def sso_start():
    config = _config() or abort(404)
    url, pending = sso.begin(config, _redirect_uri())
    session[PENDING] = {**pending, "tenant": str(g.tenant.id), "next": safe_next(url_for(".dashboard"))}
    return redirect(url)


@bp.get("/sso/callback")
def sso_callback():
    config = _config() or abort(404)
    pending = session.pop(PENDING, None)
    if not pending or pending.get("tenant") != str(g.tenant.id):
        flash("That single sign-on attempt has expired. Start again.", "error")
        return redirect(url_for(".sign_in"))
    if request.args.get("error"):
        flash("Single sign-on was cancelled or refused by your organisation's provider.", "error")
        return redirect(url_for(".sign_in"))
    try:
        claims = sso.finish(config, _redirect_uri(), request.url, pending)
        with tenant_scope(g.tenant.id) as tx:
            outcome = sso.sign_in_with_claims(tx, claims, issuer=config.issuer, ip=client_ip())
        if outcome.error:
            raise outcome.error
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for(".sign_in"))
    return set_session_cookie(redirect(after_first_factor(outcome.stage, pending["next"])), outcome.token)
