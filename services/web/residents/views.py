"""Resident pages: the tenant's chat list and the room page (readable without JavaScript)."""
from __future__ import annotations

from pathlib import Path

from flask import current_app, flash, g, redirect, render_template, request, send_file, session, url_for
from markupsafe import Markup
from flask_babel import gettext as _

from services.live import actions as live_actions
from services.live.queries import moderation_counts, participant_state, public_snapshot
from services.live.schemas import AskSchema
from services.live.tokens import LiveIdentity, make_token
from services.web.request_info import client_ip
from services.lib import ratelimit
from services.web.extensions import csrf
from services.engagement import data_rights
from services.residents import actions, registrations
from services.residents.schemas import JoinSchema, RegisterSchema
from services.media.queries import get_media, public_media
from services.lib.i18n import current_lang, reader_sentence, reading_language
from services.residents.accessibility import statement
from services.captions.actions import captions_so_far
from services.residents.strings import room_script_strings, signposting
from services.rooms.lifecycle import ASKING_STATES
from services.transcripts.queries import get_transcript, transcript_exists
from services.rooms.queries import get_public_room, list_public_rooms
from services.lib.tenant_settings import tenant_settings
from services.lib.validation import load
from tenants.db import tenant_scope
from tenants.errors import DomainError, NotFound

from services.web.residents.blueprint import bp


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
        counts = moderation_counts(tx, room["id"])
        participant = None if viewer_only else \
            actions.participant_in_room(tx, participant_id or _participant_id(room["id"]), room["id"])
        mine = participant_state(tx, participant["id"]) if participant else None
        media = public_media(tx, room["id"])
        has_transcript = transcript_exists(tx, room["id"])
        captions = captions_so_far(tx, room["id"])
    identity = LiveIdentity(g.tenant.id, room["id"], "resident" if participant else "viewer",
                            participant["id"] if participant else None, current_lang())
    return dict(room=room, snapshot=snapshot, participant=participant, mine=mine, counts=counts,
                live_token=make_token(identity), can_ask=room["state"] in ASKING_STATES,
                can_register=room["state"] in registrations.REGISTERING_STATES,
                media=media, has_transcript=has_transcript, captions=captions, script_strings=room_script_strings(), signposting=signposting)


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
        registration_id = session.get("registrations", {}).get(str(participant["room_id"]))
        if registration_id:   # registered for reminders earlier in this browser: the same resident
            data_rights.link(tx, registration_id, participant["id"])
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
    if g.tenant.is_suspended:
        return render_template("residents/paused.html"), 503
    try:
        join_from_form(room_id)
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash(reader_sentence(exc), "error")
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
        flash(reader_sentence(exc), "error")
        return redirect(url_for(".room", room_id=room_id, _anchor="ask"))
    flash(_("Thank you. Your question is waiting for a moderator."), "success")
    return redirect(url_for(".room", room_id=room_id, _anchor="my-questions"))


# --- registrations for reminders ---------------------------------------------------------

@bp.post("/rooms/<room_id>/register")
def register(room_id):
    try:
        data = load(RegisterSchema, request.form)
        ratelimit.hit(f"register:{g.tenant.id}:{client_ip()}", limit=10, window_seconds=3600,
                      message=_("Too many registrations from your connection. Please try again later."))
        with tenant_scope(g.tenant.id) as tx:
            registration = registrations.register(tx, room_id, data["email"],
                                                  language=reading_language(data["language"]))
            if _participant_id(registration["room_id"]):   # joined earlier in this browser
                data_rights.link(tx, registration["id"], _participant_id(registration["room_id"]))
        remembered = dict(session.get("registrations", {}))
        remembered[str(registration["room_id"])] = str(registration["id"])
        session["registrations"] = dict(list(remembered.items())[-50:])
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash(reader_sentence(exc), "error")
        return redirect(url_for(".room", room_id=room_id, _anchor="register"))
    flash(_("Thank you. If this address is not registered yet, we have sent it an email: "
            "open the link in it to confirm your reminders."), "success")
    return redirect(url_for(".room", room_id=room_id, _anchor="register"))


@bp.route("/registrations/confirm/<token>", methods=["GET", "POST"])
def confirm_registration(token):
    """GET shows a button (mail scanners follow links); POST confirms."""
    with tenant_scope(g.tenant.id) as tx:
        if request.method == "POST":
            registrations.confirm(tx, token)
        registration = registrations.lookup(tx, token, "confirm")
    return render_template("residents/registration.html", registration=registration, token=token,
                           done=registration["status"] == "confirmed", action="confirm")


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(token):
    """RFC 8058 one-click: a POST to this URL (the List-Unsubscribe header) unsubscribes; the
    token in the URL is the authority, so no CSRF token is needed. GET shows a button."""
    with tenant_scope(g.tenant.id) as tx:
        if request.method == "POST":
            registrations.unsubscribe(tx, token)
        registration = registrations.lookup(tx, token, "unsubscribe")
    return render_template("residents/registration.html", registration=registration, token=token,
                           done=registration["status"] == "unsubscribed", action="unsubscribe")


# --- transcripts and media ---------------------------------------------------------------

def _public_transcript(room_id) -> tuple[dict, dict]:
    if g.tenant.is_suspended:
        raise NotFound(_("We could not find that transcript."))
    with tenant_scope(g.tenant.id) as tx:
        room = get_public_room(tx, room_id)
        transcript = get_transcript(tx, room["id"])
    if transcript is None:
        raise NotFound(_("The transcript of this chat is not ready yet. It appears here shortly after the chat "
                         "closes."))
    return room, transcript


@bp.get("/rooms/<room_id>/transcript")
def transcript(room_id):
    room, stored = _public_transcript(room_id)
    # the fragment was rendered (and escaped) by our own template when the transcript was built
    return render_template("residents/transcript.html", room=room, body=Markup(stored["html"]))


@bp.get("/rooms/<room_id>/transcript.<fmt>")
def transcript_file(room_id, fmt):
    if fmt not in ("txt", "pdf"):
        raise NotFound(_("We could not find that transcript."))
    room, stored = _public_transcript(room_id)
    name = f"transcript-{room['id']}.{fmt}"
    if fmt == "pdf":
        return bytes(stored["pdf"]), 200, {"Content-Type": "application/pdf",
                                           "Content-Disposition": f'inline; filename="{name}"'}
    return stored["text"], 200, {"Content-Type": "text/plain; charset=utf-8",
                                 "Content-Disposition": f'inline; filename="{name}"'}


def _public_media_row(media_id) -> dict:
    with tenant_scope(g.tenant.id) as tx:
        media = get_media(tx, media_id)
        get_public_room(tx, media["room_id"])  # a draft room's media is not public
    if media["status"] != "ready":
        raise NotFound(_("We could not find that recording."))
    return media


@bp.get("/media/<media_id>")
def media_file(media_id):
    media = _public_media_row(media_id)
    path = Path(current_app.config["TOWNHALL"].media_dir) / media["storage_path"]
    if not path.is_file():
        raise NotFound(_("We could not find that recording."))
    return send_file(path, mimetype=media["content_type"], conditional=True, max_age=3600)


@bp.get("/media/<media_id>/captions.vtt")
def media_captions(media_id):
    media = _public_media_row(media_id)
    if not media["captions_vtt"]:
        raise NotFound(_("This recording has no captions yet."))
    return media["captions_vtt"], 200, {"Content-Type": "text/vtt; charset=utf-8"}
