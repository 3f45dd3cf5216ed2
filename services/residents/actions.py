"""Residents joining a room: no account, a display name, and a keyed hash of their network."""
from __future__ import annotations

import hashlib
import hmac
import uuid

from flask import current_app
from flask_babel import gettext as _

from services.lib import ratelimit
from tenants.ids import parse_uuid
from services.residents import capacity
from services.residents.names import clean_display_name
from services.rooms.lifecycle import ASKING_STATES
from services.rooms.queries import get_public_room
from tenants.db import Tx
from tenants import plans
from tenants.errors import Conflict, LimitReached


def network_hash(ip: str | None) -> str | None:
    """A keyed hash of the IP (personal data; purged by retention) for rate limits and brigading signals."""
    if not ip:
        return None
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, ip.encode(), hashlib.sha256).hexdigest()[:32]


# Generous: a library, school or police station puts many people behind one address.
JOINS_PER_NETWORK = 300
JOIN_WINDOW = 10 * 60


def join_room(tx: Tx, room_id, display_name: str | None, ip: str | None) -> dict:
    room = get_public_room(tx, room_id)
    if room["state"] not in ASKING_STATES:
        raise Conflict(_("This chat has closed. You can read the transcript on this page."))
    ratelimit.hit(f"join:{ratelimit.network_key(ip)}", limit=JOINS_PER_NETWORK, window_seconds=JOIN_WINDOW,
                  message="A great many people have joined from your network in the last few minutes. "
                          "Please wait a few minutes and try again.")
    staff_names = [r["display_name"] for r in tx.all("select display_name from staff_users where status = 'active'")]
    name = clean_display_name(display_name, staff_names)
    participant_id = uuid.uuid4()
    limit = plans.participants_per_room(tx)
    if limit is not None and not capacity.claim(room["id"], participant_id, limit):
        raise LimitReached(_("This chat is full. You can read the transcript here after it closes."),
                           details={"limit": "participants_per_room"})
    return tx.one("insert into participants (id, tenant_id, room_id, display_name, network_hash)"
                  " values (%s, %s, %s, %s, %s) returning *",
                  [participant_id, tx.tenant_id, room["id"], name, network_hash(ip)])


def participant_in_room(tx: Tx, participant_id, room_id) -> dict | None:
    pid = parse_uuid(participant_id)
    if pid is None:
        return None
    row = tx.one("select * from participants where id = %s", [pid])
    return row if row and row["room_id"] == room_id else None
