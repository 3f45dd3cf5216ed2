"""Registrations for reminders, as residents make them: register (double opt-in), confirm and
unsubscribe through signed links (services/reminders/links.py). The reminder rows and the
messages live in services/reminders/.
"""
from __future__ import annotations

from datetime import datetime, timezone


from services.lib.i18n import N_
from tenants.ids import parse_uuid
from services.rooms.queries import get_public_room
from tenants.db import Tx
from tenants.errors import Conflict, NotFound
from services.reminders import messages as mails
from services.reminders.links import BAD_LINK, make_token, read_token
from services.reminders.schedule import REGISTERING_STATES, schedule_reminders



def _registration(tx: Tx, registration_id, *, for_update: bool = False) -> dict:
    rid = parse_uuid(registration_id)
    row = tx.one("select * from registrations where id = %s" + (" for update" if for_update else ""), [rid]) \
        if rid else None
    if row is None:
        raise NotFound(BAD_LINK)
    return row


# --- residents ---------------------------------------------------------------------------

def register(tx: Tx, room_id, email: str, *, language: str | None = None, now: datetime | None = None) -> dict:
    """Record interest and send the confirmation link. The same answer whether or not the address
    was already registered, so the form never reveals who registered.

    `language` is the one the resident was reading in (the caller checks it is one the tenant
    offers); every email to this registration is in it. Registering again in another language
    switches to it. None means the room's language for a new registration, and no change for an
    existing one."""
    now = now or datetime.now(timezone.utc)
    room = get_public_room(tx, room_id)
    if room["state"] not in REGISTERING_STATES:
        raise Conflict(N_("This chat has finished, so reminders are no longer available. The transcript is on this page."))
    row = tx.one(
        "insert into registrations (tenant_id, room_id, email, language) values (%s, %s, %s, %s)"
        " on conflict (room_id, email) do update set status = case when registrations.status = 'unsubscribed'"
        " then 'pending' else registrations.status end, language = coalesce(%s, registrations.language) returning *",
        [tx.tenant_id, room["id"], email.lower(), language or room["language"], language])
    if row["status"] == "pending":
        # at most one confirmation message per registration per hour
        bucket = now.strftime("%Y%m%d%H")
        mails.queue_registration_mail(tx, "confirm", row, room, ref=f"confirm:{row['id']}:{bucket}",
                                      token=make_token(tx.tenant_id, row["id"], "confirm"))
    return row


def confirm(tx: Tx, token: str, *, now: datetime | None = None) -> dict:
    registration = _registration(tx, read_token(token, tx.tenant_id, "confirm"), for_update=True)
    room = tx.one("select * from rooms where id = %s", [registration["room_id"]])
    if registration["status"] != "confirmed":
        registration = tx.one("update registrations set status = 'confirmed', confirmed_at = now(),"
                              " unsubscribed_at = null where id = %s returning *", [registration["id"]])
    schedule_reminders(tx, room, now=now or datetime.now(timezone.utc), registration_id=registration["id"])
    return {**registration, "room": room}


def lookup(tx: Tx, token: str, purpose: str) -> dict:
    """The registration a link is for, with its room (for the confirm and unsubscribe pages)."""
    registration = _registration(tx, read_token(token, tx.tenant_id, purpose))
    return {**registration, "room": tx.one("select * from rooms where id = %s", [registration["room_id"]])}


def unsubscribe(tx: Tx, token: str) -> dict:
    """One click: no more messages for this registration (idempotent)."""
    registration = _registration(tx, read_token(token, tx.tenant_id, "unsubscribe"), for_update=True)
    if registration["status"] != "unsubscribed":
        registration = tx.one("update registrations set status = 'unsubscribed', unsubscribed_at = now()"
                              " where id = %s returning *", [registration["id"]])
    tx.execute("update reminders set sent_at = now(), outcome = 'skipped' where registration_id = %s"
               " and sent_at is null", [registration["id"]])
    return registration


