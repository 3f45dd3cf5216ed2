"""Console pages about the signed-in person: the TOTP step and set-up, their account, sign out
everywhere, password reset, accepting an invitation, and opening a panelist link."""
from __future__ import annotations

import segno
from flask import flash, g, redirect, render_template, request, url_for

from services.lib import ratelimit
from services.web.console.auth import (clear_session_cookie, current_staff, safe_next, session_token,
                                   set_session_cookie, staff_required)
from services.web.console.schemas import EmailSchema, NewPasswordSchema
from services.web.console.blueprint import bp
from services.web.forms import attempt, with_code
from services.web.request_info import client_ip
from services.lib.validation import load
from tenants import auth, links, staff as staff_actions
from tenants.db import tenant_scope


def _expired():
    return render_template("console/link_expired.html"), 410


def _signed_in_redirect(outcome: auth.SignIn, target: str):
    return set_session_cookie(redirect(target), outcome.token)


def _with_code(step) -> tuple[auth.SignIn | None, dict[str, str]]:
    """Run a TOTP step (`complete_mfa` or `confirm_totp_setup`) with the posted code."""
    return with_code(step, lambda: tenant_scope(g.tenant.id), session_token(), client_ip())


@bp.route("/sign-in/code", methods=["GET", "POST"])
def sign_in_code():
    with tenant_scope(g.tenant.id) as tx:
        waiting = auth.session_stage(tx, session_token())
    if waiting is None or waiting[1] != "mfa":
        flash("Your sign-in has timed out: enter your email and password again.", "error")
        return redirect(url_for(".sign_in"))
    errors: dict[str, str] = {}
    if request.method == "POST":
        outcome, errors = _with_code(auth.complete_mfa)
        if not errors:
            return _signed_in_redirect(outcome, safe_next(url_for(".dashboard")))
    return render_template("console/sign_in_code.html", errors=errors), (400 if errors else 200)


@bp.route("/account/two-step", methods=["GET", "POST"])
def totp_setup():
    with tenant_scope(g.tenant.id) as tx:
        current = auth.session_stage(tx, session_token())
        if current is None or current[1] == "mfa":
            return redirect(url_for(".sign_in", next=request.full_path))
        staff, stage = current
        secret = auth.begin_totp_setup(tx, staff.id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        outcome, errors = _with_code(auth.confirm_totp_setup)
        if not errors:
            flash("Two-step verification is on. You will be asked for a code each time you sign in.", "success")
            return _signed_in_redirect(outcome, safe_next(url_for(".dashboard")))
    uri = auth.totp_uri(secret, staff.email, g.tenant.name)
    qr = segno.make(uri, error="m").svg_data_uri(scale=5, border=2, dark="#0b0c0c", light="#ffffff")
    return render_template("console/totp_setup.html", errors=errors, secret=secret, uri=uri, qr=qr,
                           staff=staff, required=staff.role == "admin", stage=stage), (400 if errors else 200)


@bp.get("/account")
@staff_required
def account():
    return render_template("console/account.html", staff=current_staff())


@bp.post("/account/two-step/disable")
@staff_required
def totp_disable():
    _, errors = attempt(lambda: _in_tenant(lambda tx: auth.disable_totp(tx, current_staff())))
    flash(errors.get("form", "Two-step verification is off."), "error" if errors else "success")
    return redirect(url_for(".account"))


@bp.post("/account/sign-out-everywhere")
@staff_required
def sign_out_everywhere():
    count = _in_tenant(lambda tx: auth.sign_out_everywhere(tx, current_staff()))
    flash(f"You are signed out everywhere ({count} session{'s' if count != 1 else ''} ended).", "success")
    return clear_session_cookie(redirect(url_for(".sign_in")))


def _in_tenant(action):
    with tenant_scope(g.tenant.id) as tx:
        return action(tx)


@bp.route("/forgot-password", methods=["GET", "POST"])
def forgot_password():
    errors: dict[str, str] = {}
    if request.method == "POST":
        def send():
            email = load(EmailSchema, request.form)["email"].lower()
            for key, limit in ((f"reset-ip:{client_ip()}", 20), (f"reset:{g.tenant.id}:{email}", 5)):
                ratelimit.hit(key, limit=limit, window_seconds=3600,
                              message="Too many reset requests: wait an hour and try again.")
            _in_tenant(lambda tx: auth.request_password_reset(
                tx, email=email, ip=client_ip(), organisation=g.tenant.name,
                link_for=lambda token: url_for(".reset_password", token=token, _external=True)))
        _, errors = attempt(send)
        if not errors:
            return render_template("console/reset_sent.html", email=request.form.get("email", "").strip())
    return render_template("console/forgot_password.html", errors=errors, form=request.form), \
        (400 if errors else 200)


def _link_form(valid: bool, template: str, action, done_message: str, **context):
    """The shape shared by the reset and invitation pages: a valid link shows a password form."""
    if not valid:
        return _expired()
    errors: dict[str, str] = {}
    if request.method == "POST":
        _, errors = attempt(lambda: action(load(NewPasswordSchema, request.form)["password"]))
        if not errors:
            flash(done_message, "success")
            return redirect(url_for(".sign_in"))
    return render_template(template, errors=errors, **context), (400 if errors else 200)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token):
    valid = _in_tenant(lambda tx: links.find(tx, token, "reset")) is not None
    return _link_form(valid, "console/reset_password.html",
                      lambda password: _in_tenant(lambda tx: auth.reset_password(
                          tx, token=token, password=password, ip=client_ip())),
                      "Your password has been changed and you have been signed out everywhere. Sign in again.")


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def accept_invitation(token):
    invitee = _in_tenant(lambda tx: staff_actions.invitation(tx, token))
    return _link_form(invitee is not None, "console/accept_invitation.html",
                      lambda password: _in_tenant(lambda tx: staff_actions.accept_invitation(
                          tx, token=token, password=password, ip=client_ip())),
                      "Welcome! Your account is ready: sign in with your email and new password.", invitee=invitee)


@bp.route("/panel/<token>", methods=["GET", "POST"])
def panelist_link(token):
    with tenant_scope(g.tenant.id) as tx:
        found = staff_actions.panelist_link(tx, token)
        if found and request.method == "POST":
            row, link = found
            outcome = auth.start_session(tx, row, "full", client_ip(), method="panelist_link",
                                         not_after=link["expires_at"])
        room = found and tx.one("select id, title from rooms where id = %s", [found[1]["room_id"]])
    if not found:
        return _expired()
    if request.method == "POST":
        return _signed_in_redirect(outcome, url_for(".host", room_id=room["id"]))
    return render_template("console/panelist_link.html", panelist=found[0], room=room)
