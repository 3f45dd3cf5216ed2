"""Who may send a room's live audio: a signed-in host or admin of the room's tenant (the tenant
scope finds no other tenant's room), while the room is live."""
from __future__ import annotations

from flask_babel import gettext as _

from services.rooms.queries import get_room
from tenants.db import Tx
from tenants.errors import Conflict
from tenants.roles import require


def check_speaker(tx: Tx, staff, room_id) -> dict:
    require(staff.role, "captions.speak")
    room = get_room(tx, room_id)
    if room["state"] != "live":
        raise Conflict(_("Live captions start when the chat is live."))
    return room
