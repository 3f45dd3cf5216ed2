"""Sharing a room: a short link on the platform host (`/r/<code>`), QR codes (SVG, PNG) that encode
it, a printable A4 poster (PDF) for bus stops and libraries, and Open Graph/Twitter metadata."""
from __future__ import annotations

import io

import segno
from flask import Blueprint, Response, abort, current_app, g, redirect, request, url_for
from flask_babel import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from services.lib.formatting import london
from services.lib.i18n import localized
from services.residents.strings import signposting
from services.web.residents.blueprint import bp
from services.rooms.queries import get_public_room
from tenants.db import tenant_scope, unscoped
from tenants.resolution import HOST_SLUG_KEY

platform_bp = Blueprint("share", __name__)
SHORT_CODE_MAX = 16
# Welsh needs ŵ and ŷ, which the PDF standard fonts lack: DejaVu (Debian's fonts-dejavu-core) has
# them; reportlab's own Vera is the fallback (Latin-1 only).
FONT_FILES = [("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
              ("Vera.ttf", "VeraBd.ttf")]
_fonts: tuple[str, str] | None = None


def poster_fonts() -> tuple[str, str]:
    global _fonts
    if _fonts is None:
        for regular, bold in FONT_FILES:
            try:
                pdfmetrics.registerFont(TTFont("Poster", regular))
                pdfmetrics.registerFont(TTFont("Poster-Bold", bold))
            except Exception:  # reportlab raises TTFError or IOError for a missing font
                continue
            _fonts = ("Poster", "Poster-Bold")
            break
        else:
            _fonts = ("Helvetica", "Helvetica-Bold")
    return _fonts


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
    """An A4 poster: who, what, when, a large QR code and the short link, and where to report crime."""
    out = io.BytesIO()
    pdf = Canvas(out, pagesize=A4, pageCompression=1)
    width, height = A4
    margin = 20 * mm
    title = localized(room, "title")
    regular, bold = poster_fonts()
    pdf.setTitle(title)
    pdf.setAuthor(tenant_name)
    pdf.setSubject(_("Join the webchat"))
    pdf.setFillColorRGB(0.114, 0.231, 0.435)   # the default brand blue (#1d3b6f)
    pdf.rect(0, height - 45 * mm, width, 45 * mm, stroke=0, fill=1)
    pdf.setFillColorRGB(1, 1, 1)
    pdf.setFont(bold, 16)
    pdf.drawString(margin, height - 18 * mm, tenant_name)
    pdf.setFont(bold, 30)
    pdf.drawString(margin, height - 35 * mm, _("Join the webchat"))
    pdf.setFillColorRGB(0.043, 0.047, 0.047)
    y = height - 62 * mm
    pdf.setFont(bold, 26)
    for line in simpleSplit(title, bold, 26, width - 2 * margin)[:3]:
        pdf.drawString(margin, y, line)
        y -= 11 * mm
    pdf.setFont(regular, 18)
    pdf.drawString(margin, y, f"{london(room['starts_at'])} – {london(room['ends_at'], 'time')}")
    y -= 9 * mm
    if room["area"]:
        pdf.drawString(margin, y, room["area"])
        y -= 9 * mm
    size = 95 * mm
    png = io.BytesIO()
    _qr(room).save(png, kind="png", scale=12, border=4)
    png.seek(0)
    qr_top = y - 6 * mm
    pdf.drawImage(ImageReader(png), (width - size) / 2, qr_top - size, size, size)
    pdf.setFont(regular, 16)
    pdf.drawCentredString(width / 2, qr_top - size - 10 * mm, _("Scan the code or go to"))
    pdf.setFont(bold, 20)
    pdf.drawCentredString(width / 2, qr_top - size - 20 * mm, short_url(room).split("://", 1)[1])
    pdf.setFont(regular, 12)
    for i, line in enumerate(simpleSplit(signposting(room), regular, 12, width - 2 * margin)[:4]):
        pdf.drawString(margin, 28 * mm - i * 6 * mm, line)
    pdf.showPage()
    pdf.save()
    return out.getvalue()


@bp.get("/rooms/<room_id>/poster.pdf")
def poster(room_id):
    room = _room(room_id)
    return Response(poster_pdf(room, g.tenant.name), mimetype="application/pdf",
                    headers={"Content-Disposition": 'inline; filename="webchat-poster.pdf"'})
