"""Self-provisioning on the platform host: `/signup`, then the emailed verification link."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from services.lib import ratelimit
from services.web.forms import attempt
from services.web.request_info import client_ip
from services.web.signup.schemas import PasswordSchema, SignupSchema
from services.lib.validation import load
from tenants import provisioning

bp = Blueprint("signup", __name__, url_prefix="/signup")


@bp.route("", methods=["GET", "POST"])
def start():
    errors: dict[str, str] = {}
    if request.method == "POST":
        def submit():
            data = load(SignupSchema, request.form)
            ratelimit.hit(f"signup:{client_ip()}", limit=20, window_seconds=3600,
                          message="Too many sign-ups from your network: try again in an hour.")
            return provisioning.request_signup(
                organisation=data["organisation"], slug=data["slug"], contact_name=data["contact_name"],
                email=data["email"], suffixes=current_app.config["TOWNHALL"].signup_email_suffixes, ip=client_ip(),
                link_for=lambda slug, token: url_for(".verify", slug=slug, token=token, _external=True))
        tenant, errors = attempt(submit)
        if not errors:
            return render_template("signup/sent.html", email=request.form.get("email", "").strip())
    suffixes = current_app.config["TOWNHALL"].signup_email_suffixes
    return render_template("signup/start.html", errors=errors, form=request.form,
                           suffixes=suffixes), (400 if errors else 200)


@bp.route("/verify/<slug>/<token>", methods=["GET", "POST"])
def verify(slug, token):
    invitee = provisioning.signup_invitee(slug, token)
    if invitee is None:
        return render_template("signup/expired.html"), 410
    errors: dict[str, str] = {}
    if request.method == "POST":
        tenant, errors = attempt(lambda: provisioning.verify_signup(
            slug=slug, token=token, password=load(PasswordSchema, request.form)["password"], ip=client_ip()))
        if not errors:
            flash("Your email is confirmed and your organisation is set up for a trial. Sign in to continue: "
                  "you will set up two-step verification first.", "success")
            return redirect(url_for("console.sign_in", tenant=tenant.slug))
    return render_template("signup/verify.html", errors=errors, invitee=invitee), (400 if errors else 200)
