"""Registrations for reminders: double opt-in, the reminder rows, unsubscribe, and what happens to
them when a room is rescheduled or cancelled.

A registration's links carry a signed token (tenant, registration, purpose), so no secret is
stored and a token for one tenant never works on another's site. Every message goes through
`workers.mail.queue_mail` in the caller's transaction with a `ref`, so a retry never sends twice.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from services.i18n import N_
from services.ids import parse_uuid
from services.rooms.queries import get_public_room
from tenants.db import Tx
from tenants.errors import Conflict, NotFound, ValidationFailed
from workers import reminders as mails

CONFIRM_MAX_AGE = 7 * 24 * 3600
DEFAULT_OFFSETS_MINUTES = (24 * 60, 60)
REGISTERING_STATES = frozenset({"scheduled", "live"})
BAD_LINK = N_("This link is not valid or has expired. You can register again on the chat's page.")


# --- tokens ------------------------------------------------------------------------------

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="townhall-registration")


def make_token(tenant_id, registration_id, purpose: str) -> str:
    return _serializer().dumps({"t": str(tenant_id), "r": str(registration_id), "p": purpose})


def read_token(token: str, tenant_id, purpose: str) -> str:
    """The registration id in a token for this tenant and purpose, or ValidationFailed."""
    try:
        data = _serializer().loads(token, max_age=CONFIRM_MAX_AGE if purpose == "confirm" else None)
    except (SignatureExpired, BadSignature):
        raise ValidationFailed(BAD_LINK) from None
    if not isinstance(data, dict) or data.get("t") != str(tenant_id) or data.get("p") != purpose:
        raise ValidationFailed(BAD_LINK)
    return data["r"]


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
        raise Conflict("This chat has finished, so reminders are no longer available. The transcript is on this page.")
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


# --- reminder rows -----------------------------------------------------------------------

def reminder_offsets(tx: Tx) -> list[int]:
    settings = tx.value("select settings from tenants where id = %s", [tx.tenant_id]) or {}
    offsets = settings.get("reminder_offsets_minutes")
    if not isinstance(offsets, list) or not all(isinstance(o, int) and 0 < o <= 60 * 24 * 14 for o in offsets):
        offsets = list(DEFAULT_OFFSETS_MINUTES)
    return sorted(set(offsets), reverse=True)


def schedule_reminders(tx: Tx, room: dict, *, now: datetime, registration_id=None) -> None:
    """(Re)compute the timed reminders of a room's confirmed registrations (or one of them).

    Each is due at `starts_at - offset` ("we're live" at the start). A reminder whose new time
    is still ahead is (re)armed, even if its earlier version was sent; one whose time has passed
    and was not sent is skipped rather than sent late.
    """
    plan = [("before", offset) for offset in reminder_offsets(tx)] + [("live", 0)]
    only = "and g.id = %s" if registration_id else ""
    extra = [registration_id] if registration_id else []
    for kind, offset in plan:
        due = room["starts_at"] - timedelta(minutes=offset)
        if due <= now or room["state"] not in REGISTERING_STATES:
            continue
        tx.execute(
            "insert into reminders (tenant_id, registration_id, room_id, kind, offset_minutes, due_at)"
            " select g.tenant_id, g.id, g.room_id, %s, %s, %s from registrations g"
            f" where g.room_id = %s and g.status = 'confirmed' {only}"
            " on conflict (registration_id, kind, offset_minutes) do update"
            " set due_at = excluded.due_at, sent_at = null, outcome = null"
            " where reminders.due_at <> excluded.due_at",
            [kind, offset, due, room["id"], *extra])
    tx.execute("update reminders set sent_at = %s, outcome = 'skipped' where room_id = %s and sent_at is null"
               " and kind in ('before', 'live') and due_at <> %s - make_interval(mins => offset_minutes)",
               [now, room["id"], room["starts_at"]])


def room_rescheduled(tx: Tx, room: dict, *, now: datetime | None = None) -> None:
    """The start time moved: move the reminders and tell every confirmed registrant."""
    now = now or datetime.now(timezone.utc)
    schedule_reminders(tx, room, now=now)
    stamp = room["starts_at"].strftime("%Y%m%dT%H%M")
    for registration in _confirmed(tx, room["id"]):
        mails.queue_registration_mail(tx, "rescheduled", registration, room,
                                      ref=f"rescheduled:{registration['id']}:{stamp}")


def room_cancelled(tx: Tx, room: dict) -> None:
    """Before a scheduled room is deleted: a cancellation (with a calendar CANCEL) to each registrant."""
    for registration in _confirmed(tx, room["id"]):
        mails.queue_registration_mail(tx, "cancelled", registration, room, ref=f"cancelled:{registration['id']}")


def transcript_ready(tx: Tx, room: dict) -> None:
    """Due now: a "transcript ready" message per confirmed registration (once: unique row)."""
    tx.execute("insert into reminders (tenant_id, registration_id, room_id, kind, offset_minutes, due_at)"
               " select tenant_id, id, room_id, 'transcript', 0, now() from registrations"
               " where room_id = %s and status = 'confirmed' on conflict do nothing", [room["id"]])


def _confirmed(tx: Tx, room_id) -> list[dict]:
    return tx.all("select * from registrations where room_id = %s and status = 'confirmed' order by created_at, id",
                  [room_id])

