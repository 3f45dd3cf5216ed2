"""Staff management (admins) and per-chat panelists (admins and hosts). Roles are checked in the
actions (tenants/staff.py); the pages only hide what a role cannot use."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from services.web.console.auth import current_staff, staff_required
from services.web.console.schemas import InviteSchema, PersonSchema
from services.web.console.blueprint import bp
from services.web.forms import attempt, submit
from tenants.ids import parse_uuid
from services.rooms.queries import get_room
from tenants import staff as staff_actions
from tenants.auth import ROLES
from tenants.db import tenant_scope
from tenants.errors import NotFound
from tenants.roles import require


def _invite_link(token: str) -> str:
    return url_for(".accept_invitation", token=token, _external=True)


def _staff_page(errors=None, form=None):
    require(current_staff().role, "staff.manage")
    with tenant_scope(g.tenant.id) as tx:
        people = staff_actions.list_staff(tx)
    return render_template("console/staff.html", people=people, errors=errors or {}, form=form or {},
                           roles=ROLES), (400 if errors else 200)


@bp.get("/staff")
@staff_required
def staff_list():
    return _staff_page()


@bp.post("/staff/invite")
@staff_required
def staff_invite():
    result, errors = submit(InviteSchema, request.form, lambda tx, data: staff_actions.invite_staff(
        tx, current_staff(), link_for=_invite_link, **data))
    if errors:
        return _staff_page(errors, request.form)
    flash(f"Invitation sent to {result[0]['email']}.", "success")
    return redirect(url_for(".staff_list"))


def _staff_change(action, message: str):
    """Run one change to a staff member from the list; its outcome is a message on the list."""
    def run():
        with tenant_scope(g.tenant.id) as tx:
            return action(tx)
    _, errors = attempt(run)
    flash(next(iter(errors.values())) if errors else message, "error" if errors else "success")
    return redirect(url_for(".staff_list"))


@bp.post("/staff/<staff_id>/resend")
@staff_required
def staff_resend(staff_id):
    return _staff_change(lambda tx: staff_actions.resend_invitation(tx, current_staff(), _uuid(staff_id),
                                                                    link_for=_invite_link),
                         "Invitation sent again; the earlier link no longer works.")


@bp.post("/staff/<staff_id>/role")
@staff_required
def staff_role(staff_id):
    return _staff_change(lambda tx: staff_actions.change_role(tx, current_staff(), _uuid(staff_id),
                                                              request.form.get("role", "")),
                         "Role changed.")


@bp.post("/staff/<staff_id>/remove")
@staff_required
def staff_remove(staff_id):
    return _staff_change(lambda tx: staff_actions.remove_staff(tx, current_staff(), _uuid(staff_id)),
                         "Removed. Their sessions have ended.")


def _uuid(value):
    parsed = parse_uuid(value)
    if parsed is None:
        raise NotFound("We could not find that staff member.")
    return parsed


# --- panelists per chat ---------------------------------------------------------------------

@bp.route("/rooms/<room_id>/panelists", methods=["GET", "POST"])
@staff_required
def panelists(room_id):
    require(current_staff().role, "panelist.invite")
    errors: dict[str, str] = {}
    link = None
    with tenant_scope(g.tenant.id) as tx:
        room = get_room(tx, room_id)
    if request.method == "POST":
        result, errors = submit(PersonSchema, request.form, lambda tx, data: staff_actions.invite_panelist(
            tx, current_staff(), room["id"],
            link_for=lambda token: url_for(".panelist_link", token=token, _external=True), **data))
        if not errors:
            flash(f"Invitation sent to {result[0]['email']}. You can also give them this link.", "success")
            link = url_for(".panelist_link", token=result[1], _external=True)
    with tenant_scope(g.tenant.id) as tx:
        people = staff_actions.room_panelists(tx, room["id"])
    return render_template("console/panelists.html", room=room, people=people, errors=errors,
                           form=request.form if errors else {}, link=link), (400 if errors else 200)


@bp.post("/rooms/<room_id>/panelists/<staff_id>/remove")
@staff_required
def panelist_remove(room_id, staff_id):
    def run():
        with tenant_scope(g.tenant.id) as tx:
            room = get_room(tx, room_id)
            staff_actions.remove_panelist(tx, current_staff(), room["id"], _uuid(staff_id))
    _, errors = attempt(run)
    flash(next(iter(errors.values())) if errors else "Panelist removed from this chat; their link no longer works.",
          "error" if errors else "success")
    return redirect(url_for(".panelists", room_id=room_id))
