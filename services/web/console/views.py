"""The staff console: sign-in, dashboard, room editor, moderation and host views.

Every live action here is a plain HTML form (works without JavaScript, by keyboard) posting to
the same command table the Socket.IO events use; console.js upgrades the forms to live events.
"""
from __future__ import annotations

from flask import abort, flash, g, make_response, redirect, render_template, request, url_for

from services.web.console.auth import (clear_session_cookie, current_staff, safe_next, session_token,
                                   set_session_cookie, staff_required)
from services.web.console.schemas import SignInSchema
from services.web.forms import attempt, field_errors
from services.live import commands
from services.live.queries import public_snapshot, staff_queue
from services.engagement.queries import moderation_extras
from services.live.tokens import LiveIdentity, make_token
from services.web.request_info import client_ip
from services.web.sign_in_limit import limited_sign_in
from services.rooms import actions as room_actions
from services.rooms.queries import get_room, handed_to, list_rooms, panelist_rooms, room_staff
from services.rooms.schemas import RoomSchema, london
from services.lib.validation import load
from tenants import auth, sso
from tenants.branding import tenant_settings
from tenants.db import tenant_scope
from tenants.errors import DomainError, RateLimited
from tenants.roles import can, require, require_room

from services.web.console.blueprint import bp


@bp.before_request
def forget_previous_staff():
    """`g` outlives a request when an app context was already pushed (tests, CLI): look again."""
    g.pop("staff", None)


@bp.app_template_global()
def staff_can(permission: str) -> bool:
    staff = current_staff() if getattr(g, "tenant", None) else None
    return bool(staff and can(staff.role, permission))


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    if request.method == "POST":
        def check():
            data = load(SignInSchema, request.form)
            with tenant_scope(g.tenant.id) as tx:
                return auth.sign_in(tx, email=data["email"], password=data["password"], ip=client_ip())
        try:
            outcome = limited_sign_in(check)
        except RateLimited as exc:   # the network's limit or a locked account: say when to come back
            return _sign_in_page({"form": exc.message}, 429, {"Retry-After": str(exc.retry_after)})
        except DomainError as exc:
            return _sign_in_page(field_errors(exc), 400)
        return set_session_cookie(redirect(after_first_factor(outcome.stage)), outcome.token)
    return _sign_in_page({}, 200)


def _sign_in_page(errors: dict[str, str], status: int, headers: dict | None = None):
    with tenant_scope(g.tenant.id) as tx:
        sso_on = sso.config_from(tenant_settings(tx)) is not None
    return render_template("console/sign_in.html", errors=errors, form=request.form, sso_on=sso_on), status, \
        headers or {}


def after_first_factor(stage: str, target: str | None = None) -> str:
    """Where a password (or single sign-on) takes you: the code step, TOTP set-up, or onwards."""
    target = target or safe_next(url_for(".dashboard"))
    if stage == "mfa":
        return url_for(".sign_in_code", next=target)
    if stage == "setup":
        return url_for(".totp_setup", next=target)
    return target


@bp.post("/sign-out")
def sign_out():
    token = session_token()
    if token:
        with tenant_scope(g.tenant.id) as tx:
            auth.sign_out(tx, token)
    return clear_session_cookie(redirect(url_for(".sign_in")))


@bp.get("/")
@staff_required
def dashboard():
    with tenant_scope(g.tenant.id) as tx:
        rooms = list_rooms(tx) if current_staff().role != "panelist" else panelist_rooms(tx, current_staff().id)
    groups = {state: [r for r in rooms if r["state"] == state]
              for state in ("live", "scheduled", "draft", "closed", "archived")}
    return render_template("console/dashboard.html", groups=groups, london=london)


@bp.route("/rooms/new", methods=["GET", "POST"])
@staff_required
def new_room():
    return _room_form(None)


@bp.route("/rooms/<room_id>/edit", methods=["GET", "POST"])
@staff_required
def edit_room(room_id):
    return _room_form(room_id)


def _room_form(room_id):
    errors: dict[str, str] = {}
    room = None
    if room_id:
        with tenant_scope(g.tenant.id) as tx:
            room = get_room(tx, room_id)
    if request.method == "POST":
        def save():
            data = load(RoomSchema, request.form.to_dict() | {"tags": request.form.get("tags", "")})
            with tenant_scope(g.tenant.id) as tx:
                if room:
                    return room_actions.update_room(tx, current_staff(), room["id"], data)
                return room_actions.create_room(tx, current_staff(), data)
        saved, errors = attempt(save)
        if not errors:
            flash("Chat saved.", "success")
            return redirect(url_for(".moderate", room_id=saved["id"]))
    form = request.form if request.method == "POST" or room else _new_room_defaults()
    return render_template("console/room_form.html", room=room, errors=errors, form=form,
                           london=london), (400 if errors else 200)


def _new_room_defaults() -> dict:
    """A new chat starts from the organisation's default options (Settings)."""
    with tenant_scope(g.tenant.id) as tx:
        settings = tenant_settings(tx)
    defaults = settings["room_defaults"]
    return {"mode": defaults["mode"], "votes_enabled": "on" if defaults["votes_enabled"] else "off",
            "slow_mode_seconds": str(defaults["slow_mode_seconds"]), "language": settings["languages"][0]}


@bp.post("/rooms/<room_id>/delete")
@staff_required
def delete_room(room_id):
    with tenant_scope(g.tenant.id) as tx:
        room_actions.delete_room(tx, current_staff(), room_id)
    flash("Chat deleted.", "success")
    return redirect(url_for(".dashboard"))


def _live_page(template: str, room_id):
    staff = current_staff()
    with tenant_scope(g.tenant.id) as tx:
        room = get_room(tx, room_id)
        require_room(tx, staff, room["id"])
        if staff.role == "panelist":
            return render_template("console/panelist.html", room=room, questions=handed_to(tx, room["id"], staff.id))
        snapshot = public_snapshot(tx, room["id"])
        queue = staff_queue(tx, room["id"])
        people = room_staff(tx, room["id"])
        engagement = moderation_extras(tx, room["id"], queue)
        colleagues = tx.all("select u.id, u.display_name, u.role from staff_users u where u.status = 'active'"
                            " and (u.role <> 'panelist' or exists (select 1 from room_staff rs where rs.staff_id = u.id"
                            " and rs.room_id = %s)) order by u.display_name", [room["id"]])
    token = make_token(LiveIdentity(g.tenant.id, room["id"], "staff", staff.id))
    return render_template(template, room=room, snapshot=snapshot, queue=queue, people=people,
                           colleagues=colleagues, live_token=token, london=london,
                           can_speak=can(staff.role, "captions.speak"), **engagement)


@bp.get("/rooms/<room_id>/moderate")
@staff_required
def moderate(room_id):
    require(current_staff().role, "question.moderate")
    return _live_page("console/moderate.html", room_id)


@bp.get("/rooms/<room_id>/host")
@staff_required
def host(room_id):
    response = make_response(_live_page("console/host.html", room_id))
    # "Speak live" uses the microphone on this page only (every other page keeps microphone=())
    response.headers["Permissions-Policy"] = "camera=(), microphone=(self), geolocation=()"
    return response


@bp.post("/rooms/<room_id>/commands/<name>")
@staff_required
def command(room_id, name):
    """The no-JavaScript transport for staff commands (same table as the Socket.IO events)."""
    cmd = commands.STAFF_COMMANDS.get(name) or abort(404)
    back = request.args.get("back") if request.args.get("back") in ("moderate", "host") else "moderate"
    def run():
        with tenant_scope(g.tenant.id) as tx:
            room = get_room(tx, room_id)          # someone else's chat is not found, whatever the input
            require_room(tx, current_staff(), room["id"])
            data = commands.validate(cmd, _question(request.args) | request.form.to_dict() | _lists(name))
            commands.execute(cmd, tx, current_staff(), room["id"], data)
    _, errors = attempt(run)
    for message in errors.values():
        flash(message, "error")
    if not errors:
        flash("Done.", "success")
    if current_staff().role == "panelist":
        back = "host"
    return redirect(url_for(f".{back}", room_id=room_id))


def _question(args) -> dict:
    """A queue card's forms name their question in the action URL (see the command_form macro)."""
    return {"question_id": args["question_id"]} if args.get("question_id") else {}


def _lists(name: str) -> dict:
    if name in ("tag", "tag_poll"):
        return {"theme_ids": request.form.getlist("theme_ids")}
    return {"options": request.form.get("options", "")} if name == "poll_open" else {}

