"""State changes of a live session. Each writes its rows and its event-log entries in the
caller's transaction; emits happen after commit (see event_log). Staff actions are audited."""
from __future__ import annotations

from datetime import datetime, timezone

import psycopg
from flask_babel import force_locale, get_locale, gettext as _
from psycopg.types.json import Jsonb

from services.assist.actions import group_on_arrival
from services.lib import ratelimit
from tenants.ids import parse_uuid
from services.rooms import broadcast
from services.rooms.channels import participant_channel
from services.rooms.event_log import append_room_event, append_staff_event
from services.engagement import settings as engagement_settings
from services.engagement.reasons import tenant_reason_text, tenant_reasons
from services.screening import engine as screening
from services.screening.flags import HOLD_FLAGS, screen
from services.screening.safety import Verdict
from services.live.presenters import (own_question, poll_results, public_answer, public_poll, public_question,
                                      staff_question)
from services.live.queries import poll_counts
from services.residents.strings import EMERGENCY_PREFIX, safety_guidance
from services.rooms.lifecycle import ASKING_STATES
from services.rooms.queries import get_room
from tenants import audit
from tenants.auth import Staff, staff_by_id
from tenants.db import Tx
from tenants.errors import Conflict, Forbidden, NotFound, RateLimited, ValidationFailed
from tenants.roles import on_room, require, require_room

QUESTIONS_PER_MINUTE = 5
VOTE_BURST_THRESHOLD = 5
VOTE_BURST_WINDOW_SECONDS = 120


# --- residents ---------------------------------------------------------------------------

def submit_question(tx: Tx, participant: dict, body: str) -> dict:
    room = get_room(tx, participant["room_id"], for_update=False)
    if room["state"] not in ASKING_STATES:
        raise Conflict(_("This chat is not taking questions at the moment."))
    if participant["blocked"]:
        raise Forbidden(_("You can no longer ask questions in this chat."))
    _check_slow_mode(tx, room, participant)
    ratelimit.hit(f"ask:{participant['id']}", limit=QUESTIONS_PER_MINUTE, window_seconds=60,
                  message=_("You are asking questions very quickly. Please wait a minute and try again."))
    page_language = str(get_locale() or "en")
    verdict = screening.classify(body, page_language)
    flags = sorted(set(screen(body)) | ({verdict.category} if verdict.needs_guidance else set()))
    in_advance = room["state"] == "scheduled"
    publish_now = room["mode"] == "open" and not in_advance and not (set(flags) & HOLD_FLAGS)
    question = tx.one(
        "insert into questions (tenant_id, room_id, participant_id, body, original_body, status, flags,"
        " asked_in_advance, published_at, safety_category, safety_confidence, safety_signals)"
        " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) returning *",
        [tx.tenant_id, room["id"], participant["id"], body, body, "published" if publish_now else "pending",
         flags, in_advance, datetime.now(timezone.utc) if publish_now else None,
         verdict.category, verdict.confidence, list(verdict.signals)])
    tx.execute("update participants set last_question_at = now() where id = %s", [participant["id"]])
    group_on_arrival(tx, question)
    name = participant["display_name"]
    append_staff_event(tx, room["id"], "question.submitted", staff_question(question, name))
    if publish_now:
        append_room_event(tx, room["id"], "question.published", public_question(question, name))
    _tell_author(tx, question)
    if verdict.needs_guidance:
        _guide(tx, question, verdict, page_language)
    return question


def _guide(tx: Tx, question: dict, verdict: Verdict, page_language: str) -> None:
    """Show the resident the guidance for what their message reads as: in the page's language, and
    also in the language they wrote in when that is the other one (Welsh on an English page)."""
    reporting_url = engagement_settings.read(tx).get("crime_reporting_url", "")
    texts = []
    for language in dict.fromkeys((page_language, verdict.language)):
        with force_locale(language):
            texts.append(safety_guidance(verdict.category, reporting_url))
    body = "\n\n".join(texts)
    send_private(tx, question["participant_id"], question["room_id"], verdict.category, body,
                 question_id=question["id"])


def _check_slow_mode(tx: Tx, room: dict, participant: dict) -> None:
    if not room["slow_mode_seconds"] or not participant["last_question_at"]:
        return
    waited = tx.value("select extract(epoch from now() - %s)::int", [participant["last_question_at"]])
    remaining = room["slow_mode_seconds"] - waited
    if remaining > 0:
        raise RateLimited(_("This chat is in slow mode: you can ask again in %(num)s seconds.", num=remaining),
                          retry_after=remaining)


def upvote_question(tx: Tx, participant: dict, question_id) -> int:
    room = get_room(tx, participant["room_id"])
    if not room["votes_enabled"]:
        raise Conflict(_("Voting is turned off in this chat."))
    if room["state"] != "live":
        raise Conflict(_("Voting is only open while the chat is live."))
    question = _question(tx, question_id, room_id=room["id"])
    if question["status"] != "published":
        raise NotFound(_("We could not find that question."))
    try:
        with tx.conn.transaction():
            tx.execute("insert into question_votes (tenant_id, question_id, participant_id) values (%s, %s, %s)",
                       [tx.tenant_id, question["id"], participant["id"]])
    except psycopg.errors.UniqueViolation:
        raise Conflict(_("You have already voted for this question.")) from None
    count = tx.value("update questions set vote_count = vote_count + 1 where id = %s returning vote_count",
                     [question["id"]])
    append_room_event(tx, room["id"], "question.votes", {"id": str(question["id"]), "votes": count})
    _flag_vote_burst(tx, room["id"], question["id"], participant)
    return count


def _flag_vote_burst(tx: Tx, room_id, question_id, participant: dict) -> None:
    """Brigading signal: many votes for one question from one network in a short time. Shown to
    moderators, never silently dropped (a library or police station shares one address)."""
    if not participant["network_hash"]:
        return
    recent = tx.value("select count(*) from question_votes v join participants p on p.id = v.participant_id"
                      " where v.question_id = %s and p.network_hash = %s and v.created_at > now() - %s::interval",
                      [question_id, participant["network_hash"], f"{VOTE_BURST_WINDOW_SECONDS} seconds"])
    if recent == VOTE_BURST_THRESHOLD:  # once per burst, not on every vote after it
        body = tx.value("select body from questions where id = %s", [question_id])
        append_staff_event(tx, room_id, "votes.burst", {"question_id": str(question_id), "votes_from_one_network": recent,
                                                        "window_seconds": VOTE_BURST_WINDOW_SECONDS, "body": body})


def vote_in_poll(tx: Tx, participant: dict, poll_id, option_ids: list[int]) -> None:
    poll = _poll(tx, poll_id, room_id=participant["room_id"])
    if poll["state"] != "open":
        raise Conflict(_("This poll has closed."))
    valid = {o["id"] for o in poll["options"]}
    chosen = sorted(set(option_ids))
    if not chosen or not set(chosen) <= valid:
        raise ValidationFailed(_("Choose one of the options shown."), field="option_ids")
    if poll["kind"] == "single" and len(chosen) != 1:
        raise ValidationFailed(_("Choose exactly one option."), field="option_ids")
    try:
        with tx.conn.transaction():
            tx.execute("insert into poll_votes (tenant_id, poll_id, participant_id, option_ids) values (%s, %s, %s, %s)",
                       [tx.tenant_id, poll["id"], participant["id"], chosen])
    except psycopg.errors.UniqueViolation:
        raise Conflict(_("You have already voted in this poll.")) from None
    if poll["results_visibility"] == "live":
        append_room_event(tx, poll["room_id"], "poll.results", poll_results(poll, poll_counts(tx, poll["id"])))


# --- staff: moderation --------------------------------------------------------------------

# one statement: the checks, the change and the author's name; `_why_not_approved` explains a refusal
_APPROVE = ("with old as (select id, body, room_id, participant_id from questions where id = %(id)s for update)"
            " update questions q set status = 'published', body = coalesce(%(body)s, q.body),"
            " published_at = coalesce(q.published_at, now()), moderated_at = now(), moderated_by = %(staff_id)s"
            " from old join rooms r on r.id = old.room_id left join participants p on p.id = old.participant_id"
            " where q.id = old.id and q.status in ('pending', 'hidden') and r.state not in ('draft', 'scheduled')"
            " returning q.*, p.display_name as author_name, q.body is distinct from old.body as edited")


def approve_question(tx: Tx, staff: Staff, question_id, edited_body: str | None = None) -> dict:
    require(staff.role, "question.moderate")
    qid = parse_uuid(question_id)
    body = edited_body.strip() if edited_body and edited_body.strip() else None
    updated = tx.one(_APPROVE, {"id": qid, "body": body, "staff_id": staff.id}) if qid else None
    if updated is None:
        raise _why_not_approved(tx, question_id)
    name, edited = updated.pop("author_name") or "Resident", updated.pop("edited")
    append_room_event(tx, updated["room_id"], "question.published", public_question(updated, name))
    append_staff_event(tx, updated["room_id"], "question.moderated", staff_question(updated, name))
    audit.record_staff(tx, staff, "question.approved", "question", updated["id"], {"edited": edited})
    _tell_author(tx, updated)
    return updated


def _why_not_approved(tx: Tx, question_id) -> Exception:
    question = _question(tx, question_id)   # raises NotFound
    if question["status"] not in ("pending", "hidden"):
        return Conflict(f"This question is already {question['status']}.")
    return Conflict("Questions asked in advance can be published once the chat is live.")


def reject_question(tx: Tx, staff: Staff, question_id, reason: str) -> dict:
    require(staff.role, "question.moderate")
    settings = _settings(tx)
    if reason not in tenant_reasons(settings):
        raise ValidationFailed("Choose a reason from the list.", field="reason")
    question = _question(tx, question_id, for_update=True)
    if question["status"] != "pending":
        raise Conflict(f"This question is already {question['status']}.")
    updated = tx.one("update questions set status = 'rejected', rejection_reason = %s, moderated_at = now(),"
                     " moderated_by = %s where id = %s returning *", [reason, staff.id, question["id"]])
    name = _display_name(tx, question["participant_id"])
    append_staff_event(tx, question["room_id"], "question.moderated", staff_question(updated, name))
    send_private(tx, question["participant_id"], question["room_id"], "rejected", tenant_reason_text(settings, reason),
                 question_id=question["id"])
    audit.record_staff(tx, staff, "question.rejected", "question", question["id"], {"reason": reason})
    _tell_author(tx, updated)
    return updated


def merge_question(tx: Tx, staff: Staff, question_id, into_id) -> dict:
    """A duplicate of a published question: not published itself (rejected with reason
    'duplicate', `merged_into` the one that was), counted as "merged as duplicates"."""
    require(staff.role, "question.moderate")
    question = _question(tx, question_id, for_update=True)
    if question["status"] != "pending":
        raise Conflict(f"This question is already {question['status']}.")
    target = _question(tx, into_id, room_id=question["room_id"])
    if target["id"] == question["id"] or target["status"] != "published":
        raise ValidationFailed("Merge into a published question of this chat.", field="into_id")
    updated = tx.one("update questions set status = 'rejected', rejection_reason = 'duplicate', merged_into = %s,"
                     " moderated_at = now(), moderated_by = %s where id = %s returning *",
                     [target["id"], staff.id, question["id"]])
    name = _display_name(tx, question["participant_id"])
    append_staff_event(tx, question["room_id"], "question.moderated", staff_question(updated, name))
    text = tenant_reason_text(_settings(tx), "duplicate")
    send_private(tx, question["participant_id"], question["room_id"], "rejected", f"{text} “{target['body']}”",
                 question_id=question["id"])
    audit.record_staff(tx, staff, "question.merged", "question", question["id"], {"into": str(target["id"])})
    _tell_author(tx, updated)
    return updated


def escalate_question(tx: Tx, staff: Staff, question_id, note: str = "") -> dict:
    """Safeguarding: pass a question that suggests risk to life or a safeguarding concern to the
    force's contact centre (mail and signed webhook, services/engagement/escalations.py). It is
    never published; if it already was, it is withdrawn and its text removed from the public log.
    The resident is shown the emergency guidance at once."""
    from services.engagement import escalations

    require(staff.role, "question.moderate")
    question = _question(tx, question_id, for_update=True)
    if question["status"] == "escalated":
        raise Conflict("This question has already been escalated.")
    room = get_room(tx, question["room_id"])
    updated = tx.one("update questions set status = 'escalated', moderated_at = now(), moderated_by = %s"
                     " where id = %s returning *", [staff.id, question["id"]])
    if question["status"] in ("published", "hidden"):
        withdraw_from_public_log(tx, question)
    participant = tx.one("select * from participants where id = %s", [question["participant_id"]])
    escalation = escalations.record(tx, staff, updated, room, participant, note)
    append_staff_event(tx, room["id"], "question.moderated", staff_question(updated, participant["display_name"]))
    send_private(tx, participant["id"], room["id"], "emergency", EMERGENCY_PREFIX + room["signposting_text"],
                 question_id=question["id"])
    audit.record_staff(tx, staff, "question.escalated", "question", question["id"],
                       {"escalation_id": str(escalation["id"]), "email": bool(escalation["email_to"]),
                        "webhook": escalation["webhook_status"] == "pending",
                        "network_hash_shared": bool(escalation["network_hash"]), "was": question["status"]})
    _tell_author(tx, updated)
    return escalation


def withdraw_from_public_log(tx: Tx, question: dict) -> None:
    """Take a question out of public view for good: its published events lose their text (so a
    replay from the start never shows it) and a `question.hidden` event removes it live."""
    tx.execute("update room_events set data = data || %s where room_id = %s and data->>'id' = %s"
               " and type = 'question.published'",
               [Jsonb({"body": "", "display_name": "", "withdrawn": True}), question["room_id"], str(question["id"])])
    if question["status"] == "published":
        append_room_event(tx, question["room_id"], "question.hidden", {"id": str(question["id"])})


def hide_question(tx: Tx, staff: Staff, question_id) -> dict:
    require(staff.role, "question.moderate")
    question = _question(tx, question_id, for_update=True)
    if question["status"] != "published":
        raise Conflict("Only a published question can be hidden.")
    updated = tx.one("update questions set status = 'hidden', moderated_at = now(), moderated_by = %s"
                     " where id = %s returning *", [staff.id, question["id"]])
    append_room_event(tx, question["room_id"], "question.hidden", {"id": str(question["id"])})
    append_staff_event(tx, question["room_id"], "question.moderated",
                       staff_question(updated, _display_name(tx, question["participant_id"])))
    audit.record_staff(tx, staff, "question.hidden", "question", question["id"])
    return updated


def reply_privately(tx: Tx, staff: Staff, question_id, body: str) -> None:
    require(staff.role, "question.moderate")
    question = _question(tx, question_id)
    send_private(tx, question["participant_id"], question["room_id"], "reply", body, question_id=question["id"])
    append_staff_event(tx, question["room_id"], "question.replied", {"id": str(question["id"]), "body": body,
                                                                     "by": staff.display_name})
    audit.record_staff(tx, staff, "question.replied_privately", "question", question["id"])


def assign_question(tx: Tx, staff: Staff, question_id, assignee_id) -> dict:
    require(staff.role, "question.moderate")
    question = _question(tx, question_id, for_update=True)
    assignee = staff_by_id(tx, assignee_id)
    if assignee is None or not on_room(tx, assignee, question["room_id"]):
        raise NotFound("We could not find that staff member.", field="assignee_id")
    updated = tx.one("update questions set assigned_to = %s where id = %s returning *", [assignee.id, question["id"]])
    append_staff_event(tx, question["room_id"], "question.assigned",
                       {"id": str(question["id"]), "assigned_to": str(assignee.id), "name": assignee.display_name})
    audit.record_staff(tx, staff, "question.assigned", "question", question["id"], {"to": str(assignee.id)})
    return updated


# --- staff: answering, announcements, polls -----------------------------------------------

def answer_question(tx: Tx, staff: Staff, question_id, body: str) -> dict:
    require(staff.role, "question.answer")
    question = _question(tx, question_id, for_update=True)
    if staff.role == "panelist":
        require_room(tx, staff, question["room_id"])
        if question["assigned_to"] != staff.id:
            raise Forbidden("Panelists answer only the questions handed to them.")
    if question["status"] != "published":
        raise Conflict("Only a published question can be answered: approve it first.")
    answer = tx.one("insert into answers (tenant_id, room_id, question_id, staff_id, body)"
                    " values (%s, %s, %s, %s, %s) returning *",
                    [tx.tenant_id, question["room_id"], question["id"], staff.id, body])
    who = {"display_name": staff.display_name, "title": staff.title, "role": staff.role}
    after_chat = get_room(tx, question["room_id"])["state"] in ("closed", "archived")
    append_room_event(tx, question["room_id"], "question.answered", public_answer(answer, who, after_chat))
    audit.record_staff(tx, staff, "question.answered", "question", question["id"])
    return answer


def post_announcement(tx: Tx, staff: Staff, room_id, body: str) -> dict:
    require(staff.role, "announcement.post")
    room = get_room(tx, room_id)
    if room["state"] not in ASKING_STATES:
        raise Conflict("Announcements can be posted only before or during the chat.")
    row = tx.one("insert into announcements (tenant_id, room_id, staff_id, body) values (%s, %s, %s, %s) returning *",
                 [tx.tenant_id, room["id"], staff.id, body])
    append_room_event(tx, room["id"], "announcement.posted",
                      {"id": str(row["id"]), "body": body, "by": staff.display_name, "title": staff.title,
                       "pinned": True})
    audit.record_staff(tx, staff, "announcement.posted", "room", room["id"])
    return row


def open_poll(tx: Tx, staff: Staff, room_id, prompt: str, kind: str, options: list[str],
              results_visibility: str) -> dict:
    require(staff.role, "poll.manage")
    room = get_room(tx, room_id)
    if room["state"] != "live":
        raise Conflict("Polls can run only while the chat is live.")
    labelled = [{"id": i + 1, "label": label} for i, label in enumerate(options)]
    poll = tx.one("insert into polls (tenant_id, room_id, prompt, kind, options, results_visibility, created_by)"
                  " values (%s, %s, %s, %s, %s, %s, %s) returning *",
                  [tx.tenant_id, room["id"], prompt, kind, Jsonb(labelled), results_visibility, staff.id])
    append_room_event(tx, room["id"], "poll.opened", public_poll(poll))
    audit.record_staff(tx, staff, "poll.opened", "poll", poll["id"])
    return poll


def close_poll(tx: Tx, staff: Staff, poll_id) -> dict:
    require(staff.role, "poll.manage")
    poll = _poll(tx, poll_id, for_update=True)
    if poll["state"] != "open":
        raise Conflict("This poll is already closed.")
    closed = tx.one("update polls set state = 'closed', closed_at = now() where id = %s returning *", [poll["id"]])
    append_room_event(tx, poll["room_id"], "poll.closed",
                      {**public_poll(closed), "results": poll_results(closed, poll_counts(tx, poll["id"]))})
    audit.record_staff(tx, staff, "poll.closed", "poll", poll["id"])
    return closed


# --- private messages to one resident -----------------------------------------------------

def send_private(tx: Tx, participant_id, room_id, kind: str, body: str, *, question_id=None) -> None:
    row = tx.one("insert into private_messages (tenant_id, room_id, participant_id, question_id, kind, body)"
                 " values (%s, %s, %s, %s, %s, %s) returning id, created_at",
                 [tx.tenant_id, room_id, participant_id, question_id, kind, body])
    message = {"id": str(row["id"]), "kind": kind, "body": body,
               "question_id": str(question_id) if question_id else None, "at": row["created_at"].isoformat()}
    broadcast.emit_after_commit(tx, "private", message, to=participant_channel(participant_id))


def _tell_author(tx: Tx, question: dict) -> None:
    """The author sees their own question's state (waiting, published, not published)."""
    own = own_question(question, _settings(tx) if question["rejection_reason"] else None)
    broadcast.emit_after_commit(tx, "my_question", own, to=participant_channel(question["participant_id"]))


# --- loading through the tenant scope -----------------------------------------------------

def _question(tx: Tx, question_id, *, room_id=None, for_update: bool = False) -> dict:
    qid = parse_uuid(question_id)
    row = tx.one("select * from questions where id = %s" + (" for update" if for_update else ""), [qid]) if qid else None
    if row is None or (room_id is not None and row["room_id"] != room_id):
        raise NotFound(_("We could not find that question."))
    return row


def _poll(tx: Tx, poll_id, *, room_id=None, for_update: bool = False) -> dict:
    pid = parse_uuid(poll_id)
    row = tx.one("select * from polls where id = %s" + (" for update" if for_update else ""), [pid]) if pid else None
    if row is None or (room_id is not None and row["room_id"] != room_id):
        raise NotFound(_("We could not find that poll."))
    return row


def _settings(tx: Tx) -> dict:
    return tx.value("select settings from tenants where id = %s", [tx.tenant_id]) or {}


def _display_name(tx: Tx, participant_id) -> str:
    return tx.value("select display_name from participants where id = %s", [participant_id]) or "Resident"
