"""Sharing a room: a short link on the platform host (`/r/<code>`), QR codes (SVG, PNG) that encode
it, a printable A4 poster (PDF) for bus stops and libraries, and Open Graph/Twitter metadata."""
from __future__ import annotations

import io

import segno
from flask import Blueprint, Response, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from services.lib.formatting import london
from services.lib.i18n import current_lang, localized
from services.lib.pdf import html_to_pdf
from services.lib.tenant_settings import tenant_settings
from services.residents.strings import signposting
from services.web.residents.blueprint import bp
from services.rooms.queries import get_public_room
from tenants.branding import DEFAULT_PRIMARY, TEXT_ON_PRIMARY
from tenants.db import tenant_scope, unscoped
from tenants.resolution import HOST_SLUG_KEY

platform_bp = Blueprint("share", __name__)
SHORT_CODE_MAX = 16


@platform_bp.get("/r/<code>")
def short_link(code):
    """The short link printed on posters: resolves before any tenant is known."""
    if len(code) > SHORT_CODE_MAX or not code.isalnum():
        abort(404)
    with unscoped() as tx:
        row = tx.one("select * from townhall_room_by_short_code(%s)", [code])
    if row is None:
        abort(404)
    return redirect(url_for("residents.room", tenant=row["slug"], room_id=row["room_id"]), code=302)


def short_url(room: dict) -> str:
    """The room's short link, on the platform host (the request's own host in path mode)."""
    if request.environ.get(HOST_SLUG_KEY):
        base_domain = current_app.config["TOWNHALL"].base_domain
        port = request.host.rsplit(":", 1)[1] if ":" in request.host.split("]")[-1] else ""
        return f"{request.scheme}://{base_domain}{':' + port if port else ''}/r/{room['short_code']}"
    return url_for("share.short_link", code=room["short_code"], _external=True)


def _room(room_id) -> dict:
    with tenant_scope(g.tenant.id) as tx:
        return get_public_room(tx, room_id)


def _qr(room: dict) -> segno.QRCode:
    return segno.make(short_url(room), error="q", micro=False)


@bp.app_template_global("room_short_url")
def room_short_url(room: dict) -> str:
    return short_url(room)


@bp.get("/rooms/<room_id>/qr.svg")
def qr_svg(room_id):
    room = _room(room_id)
    out = io.BytesIO()
    _qr(room).save(out, kind="svg", scale=8, border=4, title=_("QR code for %(title)s", title=localized(room, "title")),
                   xmldecl=True, svgns=True)
    return Response(out.getvalue(), mimetype="image/svg+xml", headers={"Cache-Control": "public, max-age=3600"})


@bp.get("/rooms/<room_id>/qr.png")
def qr_png(room_id):
    room = _room(room_id)
    out = io.BytesIO()
    _qr(room).save(out, kind="png", scale=10, border=4)
    return Response(out.getvalue(), mimetype="image/png", headers={"Cache-Control": "public, max-age=3600"})


def poster_pdf(room: dict, tenant_name: str) -> bytes:
    """An A4 poster: who, what, when, a large QR code and the short link, and where to report crime.
    Made by WeasyPrint like every other PDF (DejaVu Sans has the Welsh ŵ and ŷ)."""
    primary = (tenant_settings().get("brand") or {}).get("primary") or DEFAULT_PRIMARY   # checked against white on save
    html = render_template(
        "residents/poster_pdf.html", title=localized(room, "title"), tenant_name=tenant_name, area=room["area"],
        when=f"{london(room['starts_at'])} – {london(room['ends_at'], 'time')}", lang=current_lang(),
        qr=_qr(room).svg_data_uri(scale=12, border=4), link=short_url(room).split("://", 1)[1],
        signposting=signposting(room), primary=primary, on_primary=TEXT_ON_PRIMARY)
    return html_to_pdf(html)


@bp.get("/rooms/<room_id>/poster.pdf")
def poster(room_id):
    room = _room(room_id)
    return Response(poster_pdf(room, g.tenant.name), mimetype="application/pdf",
                    headers={"Content-Disposition": 'inline; filename="webchat-poster.pdf"'})
