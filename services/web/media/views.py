"""Console pages for a room's recordings: upload audio/video, see captioning progress, correct captions."""
from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from services.web.console.auth import current_staff, staff_required
from services.web.forms import FormErrors, attempt
from services.media import actions
from services.media.queries import get_media, room_media
from services.rooms.queries import get_room
from services.web.tenant_routes import tenant_blueprint
from tenants.db import tenant_scope
from tenants.errors import ValidationFailed
from services.media.audio import ffmpeg_available

bp = tenant_blueprint("media_console", __name__, "/console")


def _page(room_id, errors: dict | None = None, status: int = 200):
    with tenant_scope(g.tenant.id) as tx:
        room = get_room(tx, room_id)
        items = room_media(tx, room["id"])
    limit_mb = current_app.config["TOWNHALL"].media_max_bytes // (1024 * 1024)
    return render_template("console/media.html", room=room, items=items, errors=errors or {},
                           limit_mb=limit_mb, any_format=ffmpeg_available(), form=request.form), status


@bp.get("/rooms/<room_id>/media")
@staff_required
def media_page(room_id):
    return _page(room_id)


@bp.post("/rooms/<room_id>/media")
@staff_required
def upload(room_id):
    media, errors = attempt(lambda: _receive_and_attach(room_id))
    if errors:
        return _page(room_id, errors, errors.status)
    flash(f"Uploaded “{media['title']}”. Captions are being made: this page shows when they are ready.", "success")
    return redirect(url_for(".media_page", room_id=room_id))


def _receive_and_attach(room_id) -> dict:
    upload_path = media = None
    try:
        try:
            file = request.files.get("file")
        except RequestEntityTooLarge:
            raise ValidationFailed("The file is larger than the upload limit.", field="file") from None
        title = (request.form.get("title") or "").strip()
        if file is None or not file.filename:
            raise ValidationFailed("Choose a recording to upload.", field="file")
        title = title or file.filename.rsplit(".", 1)[0][:140] or "Recording"
        if len(title) > 140:
            raise ValidationFailed("The title must be 140 characters or fewer.", field="title")
        upload_path, size = actions.receive(file.stream, current_app.config["TOWNHALL"].media_max_bytes)
        try:
            with tenant_scope(g.tenant.id) as tx:
                media = actions.attach_media(tx, current_staff(), room_id, title=title, upload=upload_path, size=size)
        except BaseException:
            if media is not None:   # moved into place, but the transaction did not commit
                (actions.media_dir() / media["storage_path"]).unlink(missing_ok=True)
            raise
        return media
    finally:
        if upload_path is not None:
            upload_path.unlink(missing_ok=True)   # moved on success; removed on any failure


@bp.route("/media/<media_id>/captions", methods=["GET", "POST"])
@staff_required
def captions(media_id):
    errors = FormErrors()
    with tenant_scope(g.tenant.id) as tx:
        media = get_media(tx, media_id)
        room = get_room(tx, media["room_id"])
    text = media["captions_vtt"] or "WEBVTT\n\n"
    if request.method == "POST":
        text = request.form.get("captions", "")
        def save():
            with tenant_scope(g.tenant.id) as tx:
                actions.save_captions(tx, current_staff(), media["id"], text)
        _, errors = attempt(save)
        if not errors:
            flash("Captions saved.", "success")
            return redirect(url_for(".media_page", room_id=room["id"]))
    return render_template("console/captions.html", media=media, room=room, text=text, errors=errors), \
        (400 if errors else 200)
