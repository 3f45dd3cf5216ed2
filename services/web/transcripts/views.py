"""Staff exports of a room's transcript: CSV and JSON (the console)."""
from __future__ import annotations

from flask import g

from services.web.console.auth import staff_required
from services.rooms.queries import get_room
from services.web.tenant_routes import tenant_blueprint
from services.transcripts.queries import get_transcript
from tenants.db import tenant_scope
from tenants.errors import NotFound

bp = tenant_blueprint("transcripts_console", __name__, "/console")
FORMATS = {"csv": ("csv", "text/csv; charset=utf-8"), "json": ("json", "application/json; charset=utf-8")}


@bp.get("/rooms/<room_id>/transcript.<fmt>")
@staff_required
def export(room_id, fmt):
    if fmt not in FORMATS:
        raise NotFound("We could not find that export.")
    with tenant_scope(g.tenant.id) as tx:
        room = get_room(tx, room_id)
        stored = get_transcript(tx, room["id"])
    if stored is None:
        raise NotFound("The transcript is not ready yet: it is built a few moments after the chat closes.")
    column, content_type = FORMATS[fmt]
    return stored[column], 200, {"Content-Type": content_type,
                                 "Content-Disposition": f'attachment; filename="transcript-{room["id"]}.{fmt}"'}
