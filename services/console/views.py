"""The staff console: sign-in, dashboard, room editor, moderation and host views.

Every live action here is a plain HTML form (works without JavaScript, by keyboard) posting to
the same command table the Socket.IO events use; console.js upgrades the forms to live events.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, flash, g, make_response, redirect, render_template, request, url_for

from services import ratelimit
from services.console.auth import COOKIE, cookie_path, current_staff, staff_required
from services.console.schemas import SignInSchema
from services.live import commands
from services.live.queries import public_snapshot, staff_queue
from services.live.reasons import REJECTION_REASONS
from services.live.tokens import LiveIdentity, make_token
from services.request_info import client_ip
from services.rooms import actions as room_actions
from services.rooms.queries import get_room, list_rooms, room_staff
from services.rooms.schemas import RoomSchema, london
from services.tenant_routes import tenant_blueprint
from services.validation import load
from tenants import auth
from tenants.db import tenant_scope
from tenants.errors import DomainError, ValidationFailed
from tenants.roles import can

bp = tenant_blueprint("console", __name__, "/console")
# failed sign-ins per network (an office NAT is shared by many staff; the per-account lockout is 10)
SIGN_IN_FAILURES_PER_NETWORK = 30
SIGN_IN_WINDOW = 15 * 60


@bp.app_template_global()
def staff_can(permission: str) -> bool:
    staff = current_staff() if getattr(g, "tenant", None) else None
    return bool(staff and can(staff.role, permission))


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    errors: dict[str, str] = {}
    status, retry_after = 200, None
    if request.method == "POST":
        network = f"sign-in:{ratelimit.network_key(client_ip())}"
        try:
            ratelimit.check(network, limit=SIGN_IN_FAILURES_PER_NETWORK, window_seconds=SIGN_IN_WINDOW,
                            message="There have been too many failed sign-in attempts from your network. "
                                    "Wait 15 minutes and try again.")
            data = load(SignInSchema, request.form)
            with tenant_scope(g.tenant.id) as tx:
                outcome = auth.sign_in(tx, email=data["email"], password=data["password"], ip=client_ip())
            if outcome.error:
                ratelimit.count(network, window_seconds=SIGN_IN_WINDOW)
                raise outcome.error
        except DomainError as exc:
            errors[exc.field or "form"] = exc.message
            status = exc.status if exc.status in (429, 503) else 400
            retry_after = exc.details.get("retry_after")
        else:
            response = redirect(_local_target(request.args.get("next", "")) or url_for(".dashboard"))
            response.set_cookie(COOKIE, outcome.token, httponly=True, samesite="Lax", path=cookie_path(),
                                secure=request.is_secure, max_age=int(auth.SESSION_LIFETIME.total_seconds()))
            return response
    response = make_response(render_template("console/sign_in.html", errors=errors, form=request.form), status)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _local_target(target: str) -> str | None:
    """A path on this site to return to after sign-in, or None. Browsers read `/\\evil.example` as
    `//evil.example`, so backslashes and control characters are refused along with `//`."""
    parts = urlsplit(target)
    if (target.startswith("/") and not target.startswith("//") and "\\" not in target and target.isprintable()
            and not parts.scheme and not parts.netloc):
        return target
    return None


@bp.post("/sign-out")
def sign_out():
    token = request.cookies.get(COOKIE)
    if token:
        with tenant_scope(g.tenant.id) as tx:
            auth.sign_out(tx, token)
    response = redirect(url_for(".sign_in"))
    response.delete_cookie(COOKIE, path=cookie_path())
    return response


@bp.get("/")
@staff_required
def dashboard():
    with tenant_scope(g.tenant.id) as tx:
        rooms = list_rooms(tx)
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
        try:
            data = load(RoomSchema, request.form.to_dict() | {"tags": request.form.get("tags", "")})
            with tenant_scope(g.tenant.id) as tx:
                if room:
                    saved = room_actions.update_room(tx, current_staff(), room["id"], data)
                else:
                    saved = room_actions.create_room(tx, current_staff(), data)
        except ValidationFailed as exc:
            errors = {f: (m[0] if isinstance(m, list) else str(m)) for f, m in exc.details.get("fields", {}).items()} \
                or {exc.field or "form": exc.message}
        except DomainError as exc:
            if exc.status == 404:
                raise
            errors[exc.field or "form"] = exc.message
        else:
            flash("Chat saved.", "success")
            return redirect(url_for(".moderate", room_id=saved["id"]))
    return render_template("console/room_form.html", room=room, errors=errors, form=request.form,
                           london=london), (400 if errors else 200)


@bp.post("/rooms/<room_id>/delete")
@staff_required
def delete_room(room_id):
    with tenant_scope(g.tenant.id) as tx:
        room_actions.delete_room(tx, current_staff(), room_id)
    flash("Chat deleted.", "success")
    return redirect(url_for(".dashboard"))


def _live_page(template: str, room_id):
    with tenant_scope(g.tenant.id) as tx:
        room = get_room(tx, room_id)
        snapshot = public_snapshot(tx, room["id"])
        queue = staff_queue(tx, room["id"])
        people = room_staff(tx, room["id"])
        colleagues = tx.all("select id, display_name, role from staff_users where status = 'active' order by display_name")
    token = make_token(LiveIdentity(g.tenant.id, room["id"], "staff", current_staff().id))
    return render_template(template, room=room, snapshot=snapshot, queue=queue, people=people,
                           colleagues=colleagues, reasons=REJECTION_REASONS, live_token=token, london=london)


@bp.get("/rooms/<room_id>/moderate")
@staff_required
def moderate(room_id):
    return _live_page("console/moderate.html", room_id)


@bp.get("/rooms/<room_id>/host")
@staff_required
def host(room_id):
    return _live_page("console/host.html", room_id)


@bp.post("/rooms/<room_id>/commands/<name>")
@staff_required
def command(room_id, name):
    """The no-JavaScript transport for staff commands (same table as the Socket.IO events)."""
    cmd = commands.STAFF_COMMANDS.get(name) or abort(404)
    back = request.form.get("back") if request.form.get("back") in ("moderate", "host") else "moderate"
    try:
        data = commands.validate(cmd, request.form.to_dict() | _lists(name))
        with tenant_scope(g.tenant.id) as tx:
            room = get_room(tx, room_id)
            commands.execute(cmd, tx, current_staff(), room, data)
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash(exc.message, "error")
    else:
        flash("Done.", "success")
    return redirect(url_for(f".{back}", room_id=room_id))


def _lists(name: str) -> dict:
    return {"options": request.form.get("options", "")} if name == "poll_open" else {}
