"""Residents' data rights: subject access and deletion, asked for by email and verified by a link
sent to that email; staff complete each request within one calendar month (UK GDPR Art. 12(3)).

What "about them" means (the linking rule). Townhall has no resident accounts: the only thing
tying a resident to an email is a registration for reminders. A registration's email covers:
- every registration with that email, in any of the tenant's rooms;
- the participants (display name + questions, votes, private messages) of a browser session
  that both registered with that email and joined the same room, in either order: registering
  after joining links the session's participant for that room at once; joining after
  registering links when the participant is created (the session remembers its registrations).
A participant in another room, or in another browser, is not linked: a shared computer (library,
police station front desk) must not hand one resident's questions to another's email.

Every step is audited: the resident's request and verification (actor 'resident'), staff
viewing an export and completing a request (actor 'staff').
"""
from __future__ import annotations

import calendar
import json
from datetime import datetime, timedelta, timezone

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from psycopg.types.json import Jsonb

from services.ops import jobs
from tenants.ids import parse_uuid
from services.lib.links import tenant_url
from services.mail.outbox import Attachment, brand_colour, queue_mail, render
from tenants import audit
from tenants.db import Tx
from tenants.errors import Conflict, NotFound, ValidationFailed
from tenants.roles import require

VERIFY_MAX_AGE = 7 * 24 * 3600
REMIND_BEFORE = timedelta(days=7)
BAD_LINK = "This link is not valid or has expired. You can ask again on the “Your data” page."


def add_month(moment: datetime) -> datetime:
    """The same day next month (or its last day): the ICO's reading of "one month"."""
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


# --- linking participants to registrations -----------------------------------------------

def link(tx: Tx, registration_id, participant_id) -> None:
    """Link a registration and a participant of one room (no-op when the rooms differ)."""
    tx.execute("insert into registration_participants (tenant_id, registration_id, participant_id)"
               " select %s, g.id, p.id from registrations g join participants p on p.room_id = g.room_id"
               " where g.id = %s and p.id = %s on conflict do nothing",
               [tx.tenant_id, parse_uuid(registration_id), parse_uuid(participant_id)])


# --- residents: asking and verifying -----------------------------------------------------

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="townhall-data-request")


def make_token(tenant_id, request_id) -> str:
    return _serializer().dumps({"t": str(tenant_id), "d": str(request_id)})


def _read_token(token: str, tenant_id) -> str:
    try:
        data = _serializer().loads(token, max_age=VERIFY_MAX_AGE)
    except (SignatureExpired, BadSignature):
        raise ValidationFailed(BAD_LINK) from None
    if not isinstance(data, dict) or data.get("t") != str(tenant_id):
        raise ValidationFailed(BAD_LINK)
    return data["d"]


def request_rights(tx: Tx, email: str, kind: str, lang: str = "en") -> dict | None:
    """Record a request and mail its verification link, only when the tenant holds the email
    (a registration); the caller shows the same answer either way, so the form reveals nothing.
    `lang` is the page's language: the verification and the export email are written in it."""
    email = email.strip().lower()
    if not tx.value("select exists (select 1 from registrations where email = %s)", [email]):
        return None
    row = tx.one("insert into data_requests (tenant_id, email, kind, language) values (%s, %s, %s, %s) returning *",
                 [tx.tenant_id, email, kind, lang])
    tenant = tx.one("select slug, name, settings from tenants where id = %s", [tx.tenant_id])
    verify_url = tenant_url(tenant["slug"], f"/your-data/verify/{make_token(tx.tenant_id, row['id'])}") \
        + (f"?lang={lang}" if lang != "en" else "")
    rendered = render("data_request", tenant=tenant, brand=brand_colour(tenant["settings"]), lang=lang,
                      kind=kind, verify_url=verify_url)
    queue_mail(tx, ref=f"data-request:{row['id']}", kind="data_request", to=email, rendered=rendered,
               sender_name=tenant["name"])
    audit.record(tx, actor_kind="resident", actor_label=email, action=f"data_request.{kind}.asked",
                 target_kind="data_request", target_id=row["id"])
    return row


def verify(tx: Tx, token: str, *, now: datetime | None = None) -> dict:
    request_id = parse_uuid(_read_token(token, tx.tenant_id))
    row = tx.one("select * from data_requests where id = %s for update", [request_id]) if request_id else None
    if row is None:
        raise ValidationFailed(BAD_LINK)
    if row["status"] == "unverified":
        now = now or datetime.now(timezone.utc)
        row = tx.one("update data_requests set status = 'open', verified_at = %s, due_at = %s where id = %s"
                     " returning *", [now, add_month(now), row["id"]])
        audit.record(tx, actor_kind="resident", actor_label=row["email"], action=f"data_request.{row['kind']}.verified",
                     target_kind="data_request", target_id=row["id"])
    return row


def lookup(tx: Tx, token: str) -> dict:
    request_id = parse_uuid(_read_token(token, tx.tenant_id))
    row = tx.one("select * from data_requests where id = %s", [request_id]) if request_id else None
    if row is None:
        raise ValidationFailed(BAD_LINK)
    return row


# --- what we hold ------------------------------------------------------------------------

def _iso(value) -> str | None:
    return value.astimezone(timezone.utc).isoformat() if value else None


def subject_export(tx: Tx, email: str) -> dict:
    """Everything this tenant holds linked to `email` (see the linking rule above)."""
    registrations = tx.all("select g.*, r.title as room_title from registrations g join rooms r on r.id = g.room_id"
                           " where g.email = %s order by g.created_at, g.id", [email])
    participants = tx.all("select distinct p.*, r.title as room_title from participants p"
                          " join rooms r on r.id = p.room_id"
                          " join registration_participants rp on rp.participant_id = p.id"
                          " join registrations g on g.id = rp.registration_id where g.email = %s"
                          " order by p.created_at, p.id", [email])
    pids = [p["id"] for p in participants]
    questions = tx.all("select q.*, r.title as room_title from questions q join rooms r on r.id = q.room_id"
                       " where q.participant_id = any(%s) order by q.created_at, q.id", [pids])
    answers = tx.all("select a.question_id, a.body, a.created_at, u.display_name, u.title from answers a"
                     " join staff_users u on u.id = a.staff_id where a.question_id = any(%s) order by a.created_at",
                     [[q["id"] for q in questions]])
    messages = tx.all("select * from private_messages where participant_id = any(%s) order by created_at", [pids])
    question_votes = tx.value("select count(*) from question_votes where participant_id = any(%s)", [pids])
    poll_votes = tx.all("select v.option_ids, v.created_at, p.prompt, p.options from poll_votes v"
                        " join polls p on p.id = v.poll_id where v.participant_id = any(%s) order by v.created_at", [pids])
    mails = tx.all("select kind, subject, status, created_at, sent_at from outbound_mail where to_address = %s"
                   " order by created_at", [email])
    return {
        "format": "townhall-subject-access/1",
        "email": email,
        "linking_rule": "Registrations with this email; participants of a browser session that registered with "
                        "this email and joined the same chat.",
        "registrations": [{"id": str(g["id"]), "room": g["room_title"], "status": g["status"],
                           "language": g["language"], "created_at": _iso(g["created_at"]),
                           "confirmed_at": _iso(g["confirmed_at"]), "unsubscribed_at": _iso(g["unsubscribed_at"])}
                          for g in registrations],
        "participants": [{"id": str(p["id"]), "room": p["room_title"], "display_name": p["display_name"],
                          "joined_at": _iso(p["created_at"]),
                          "network_hash_held": p["network_hash"] is not None} for p in participants],
        "questions": [{"id": str(q["id"]), "room": q["room_title"], "text": q["original_body"],
                       "published_text": q["body"] if q["status"] == "published" else None, "status": q["status"],
                       "rejection_reason": q["rejection_reason"], "asked_at": _iso(q["created_at"]),
                       "answers": [{"by": a["display_name"], "title": a["title"], "text": a["body"],
                                    "at": _iso(a["created_at"])} for a in answers if a["question_id"] == q["id"]]}
                      for q in questions],
        "private_messages": [{"kind": m["kind"], "text": m["body"], "at": _iso(m["created_at"])} for m in messages],
        "question_votes": question_votes,
        "poll_votes": [{"poll": v["prompt"], "at": _iso(v["created_at"]),
                        "chose": [o["label"] for o in v["options"] if o["id"] in v["option_ids"]]} for v in poll_votes],
        "emails_sent": [{"kind": m["kind"], "subject": m["subject"], "status": m["status"],
                         "queued_at": _iso(m["created_at"]), "sent_at": _iso(m["sent_at"])} for m in mails],
    }


# --- staff -------------------------------------------------------------------------------

def list_requests(tx: Tx) -> list[dict]:
    return tx.all("select d.*, u.display_name as completed_by_name from data_requests d"
                  " left join staff_users u on u.id = d.completed_by where d.status <> 'unverified'"
                  " order by (d.status = 'completed'), d.due_at, d.created_at")


def _open_request(tx: Tx, request_id, *, for_update: bool = False) -> dict:
    rid = parse_uuid(request_id)
    row = tx.one("select * from data_requests where id = %s and status <> 'unverified'"
                 + (" for update" if for_update else ""), [rid]) if rid else None
    if row is None:
        raise NotFound("We could not find that request.")
    return row


def export_for_staff(tx: Tx, staff, request_id) -> tuple[dict, dict]:
    require(staff.role, "audit.read")
    row = _open_request(tx, request_id)
    audit.record_staff(tx, staff, "data_request.export_viewed", "data_request", row["id"])
    return row, subject_export(tx, row["email"])


def complete(tx: Tx, staff, request_id) -> dict:
    """Access: mail the export to the verified address. Deletion: erase what is linked to it.
    Escalation records are kept (a safeguarding record, vital interests), without the link."""
    require(staff.role, "audit.read")
    row = _open_request(tx, request_id, for_update=True)
    if row["status"] == "completed":
        raise Conflict("This request is already completed.")
    export = subject_export(tx, row["email"])
    tenant = tx.one("select slug, name, settings from tenants where id = %s", [tx.tenant_id])
    if row["kind"] == "access":
        outcome = {"registrations": len(export["registrations"]), "questions": len(export["questions"])}
        rendered = render("data_export", tenant=tenant, brand=brand_colour(tenant["settings"]), lang=row["language"],
                          export=export)
        data = json.dumps(export, indent=2, ensure_ascii=False).encode()
        queue_mail(tx, ref=f"data-export:{row['id']}", kind="data_export", to=row["email"], rendered=rendered,
                   sender_name=tenant["name"], attachments=(Attachment("your-data.json", "application/json", data),))
    else:
        pids = [p["id"] for p in export["participants"]]
        closed = tx.all("select distinct r.id from rooms r join participants p on p.room_id = r.id"
                        " where p.id = any(%s::uuid[]) and r.state in ('closed', 'archived')", [pids])
        outcome = {
            "participants": tx.execute("delete from participants where id = any(%s::uuid[])", [pids]).rowcount,
            "registrations": tx.execute("delete from registrations where email = %s", [row["email"]]).rowcount,
            "emails": tx.execute("delete from outbound_mail where to_address = %s and status in ('sent', 'failed')",
                                 [row["email"]]).rowcount,
        }
        tx.execute("update escalations set participant_id = null where participant_id = any(%s::uuid[])", [pids])
        tx.execute("update data_requests set email = 'erased@' || id::text where email = %s and id <> %s",
                   [row["email"], row["id"]])
        for room in closed:   # stored transcripts are rebuilt without the erased questions
            tx.after_commit(lambda rid=room["id"], tid=tx.tenant_id: jobs.enqueue(jobs.BUILD_TRANSCRIPT, str(tid), str(rid)))
    done = tx.one("update data_requests set status = 'completed', completed_at = now(), completed_by = %s,"
                  " outcome = %s where id = %s returning *", [staff.id, Jsonb(outcome), row["id"]])
    audit.record_staff(tx, staff, f"data_request.{row['kind']}.completed", "data_request", row["id"], outcome)
    return done


def due_for_reminder(tx: Tx, now: datetime) -> list[dict]:
    return tx.all("select * from data_requests where status = 'open' and reminded_at is null and due_at <= %s"
                  " for update skip locked", [now + REMIND_BEFORE])
