"""Resident pages: the tenant's chat list and the room page (readable without JavaScript)."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from services.live import actions as live_actions
from services.live.queries import participant_state, public_snapshot
from services.live.schemas import AskSchema
from services.live.tokens import LiveIdentity, make_token
from services.request_info import client_ip
from services.i18n import current_lang
from services.residents import actions
from services.residents.accessibility import statement
from services.residents.strings import room_script_strings, signposting
from services.residents.schemas import JoinSchema
from services.rooms.lifecycle import ASKING_STATES
from services.rooms.queries import get_public_room, list_public_rooms
from services.tenant_routes import tenant_blueprint
from services.tenant_settings import tenant_settings
from services.validation import load
from tenants.db import tenant_scope
from tenants.errors import DomainError

bp = tenant_blueprint("residents", __name__)


def _participant_id(room_id) -> str | None:
    return session.get("rooms", {}).get(str(room_id))


def remember_participant(room_id, participant_id) -> None:
    rooms = dict(session.get("rooms", {}))
    rooms[str(room_id)] = str(participant_id)
    session["rooms"] = dict(list(rooms.items())[-50:])
    session.permanent = True


@bp.get("/")
def home():
    if g.tenant.is_suspended:
        return render_template("residents/paused.html"), 503
    with tenant_scope(g.tenant.id) as tx:
        rooms = list_public_rooms(tx)
    return render_template("residents/home.html", rooms=rooms)


@bp.get("/accessibility")
def accessibility():
    settings = tenant_settings()
    return render_template("residents/accessibility.html",
                           statement=statement(settings, settings.get("_contact_email")))


def room_page_context(room_id, participant_id=None, *, viewer_only: bool = False) -> dict:
    """Everything a live room page needs (the room page, the embed and the big screen share it)."""
    with tenant_scope(g.tenant.id) as tx:
        room = get_public_room(tx, room_id)
        snapshot = public_snapshot(tx, room["id"])
        participant = None if viewer_only else \
            actions.participant_in_room(tx, participant_id or _participant_id(room["id"]), room["id"])
        mine = participant_state(tx, participant["id"]) if participant else None
    identity = LiveIdentity(g.tenant.id, room["id"], "resident" if participant else "viewer",
                            participant["id"] if participant else None, current_lang())
    return dict(room=room, snapshot=snapshot, participant=participant, mine=mine,
                live_token=make_token(identity), can_ask=room["state"] in ASKING_STATES,
                script_strings=room_script_strings(), signposting=signposting)


@bp.get("/rooms/<room_id>")
def room(room_id):
    if g.tenant.is_suspended:
        return render_template("residents/paused.html"), 503
    return render_template("residents/room.html", **room_page_context(room_id))


def join_from_form(room_id) -> dict:
    """Joins the resident named in the posted form; raises DomainError (a 404 for a missing room)."""
    data = load(JoinSchema, request.form)
    with tenant_scope(g.tenant.id) as tx:
        participant = actions.join_room(tx, room_id, data["display_name"], client_ip())
    remember_participant(participant["room_id"], participant["id"])
    return participant


@bp.get("/rooms/<room_id>/screen")
def screen(room_id):
    """Big-screen mode for a projector: read-only, no controls."""
    if g.tenant.is_suspended:
        return render_template("residents/paused.html"), 503
    return render_template("residents/screen.html", **room_page_context(room_id, viewer_only=True))


@bp.post("/rooms/<room_id>/join")
def join(room_id):
    try:
        join_from_form(room_id)
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash(exc.message, "error")
        return redirect(url_for(".room", room_id=room_id, _anchor="join"))
    return redirect(url_for(".room", room_id=room_id, _anchor="ask"))


@bp.post("/rooms/<room_id>/questions")
def ask(room_id):
    """The no-JavaScript path for asking; the live page uses the Socket.IO `ask` event."""
    try:
        data = load(AskSchema, request.form)
        with tenant_scope(g.tenant.id) as tx:
            room = get_public_room(tx, room_id)
            participant = actions.participant_in_room(tx, _participant_id(room["id"]), room["id"])
            if participant is None:
                flash(_("Join the chat with a display name before asking."), "error")
                return redirect(url_for(".room", room_id=room_id, _anchor="join"))
            live_actions.submit_question(tx, participant, data["body"])
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash(exc.message, "error")
        return redirect(url_for(".room", room_id=room_id, _anchor="ask"))
    flash(_("Thank you. Your question is waiting for a moderator."), "success")
    return redirect(url_for(".room", room_id=room_id, _anchor="my-questions"))


# The other resident routes live in their own modules, on this blueprint.
from services.residents import embed, feeds, share  # noqa: E402,F401
