"""Reading a live session: the public snapshot a page renders, the staff queue, a resident's own state.

A snapshot reads the sequence number first, then the content, so a client that resumes from
that number may see an event it already has (ignored by id) but never misses one.
"""
from __future__ import annotations

from uuid import UUID

from services.live.presenters import (own_question, poll_results, public_answer, public_poll, public_question,
                                      staff_question)
from services.engagement.reasons import REJECTION_REASONS
from tenants.db import Tx


def public_snapshot(tx: Tx, room_id: UUID) -> dict:
    last_seq = tx.value("select last_seq from rooms where id = %s", [room_id])
    questions = tx.all("select q.*, p.display_name from questions q join participants p on p.id = q.participant_id"
                       " where q.room_id = %s and q.status = 'published' order by q.published_at, q.id", [room_id])
    answers = tx.all("select a.*, u.display_name, u.title, u.role,"
                     " coalesce(a.created_at >= r.closed_at, false) as after_chat from answers a"
                     " join staff_users u on u.id = a.staff_id join questions q on q.id = a.question_id"
                     " join rooms r on r.id = a.room_id"
                     " where a.room_id = %s and q.status = 'published' order by a.created_at", [room_id])
    by_question: dict[str, list] = {}
    for a in answers:
        by_question.setdefault(str(a["question_id"]), []).append(public_answer(a, a, a["after_chat"]))
    announcements = tx.all("select a.*, u.display_name, u.title from announcements a join staff_users u"
                           " on u.id = a.staff_id where a.room_id = %s and a.pinned order by a.created_at desc", [room_id])
    return {
        "last_seq": last_seq,
        "questions": [{**public_question(q, q["display_name"]), "answers": by_question.get(str(q["id"]), [])}
                      for q in questions],
        "announcements": [{"id": str(a["id"]), "body": a["body"], "by": a["display_name"], "title": a["title"],
                           "at": a["created_at"].isoformat()} for a in announcements],
        "polls": [_poll_view(tx, p) for p in tx.all("select * from polls where room_id = %s order by created_at",
                                                    [room_id])],
    }


def _poll_view(tx: Tx, poll: dict) -> dict:
    view = public_poll(poll)
    if poll["results_visibility"] == "live" or poll["state"] == "closed":
        view["results"] = poll_results(poll, poll_counts(tx, poll["id"]))
    return view


def staff_queue(tx: Tx, room_id: UUID) -> dict:
    last_seq = tx.value("select staff_last_seq from rooms where id = %s", [room_id])
    rows = tx.all("select q.*, p.display_name from questions q join participants p on p.id = q.participant_id"
                  " where q.room_id = %s order by q.created_at", [room_id])
    questions = [staff_question(q, q["display_name"]) for q in rows]
    return {"last_seq": last_seq, "questions": questions, "groups": queue_groups(questions)}


def queue_groups(questions: list[dict]) -> dict:
    """How the moderation page shows groups of similar questions: each group's earliest waiting
    question is its card ("lead"); the other waiting members open from it. Returns
    {"leads": {lead id: {"group_id", "members": [...], "published": [...]}}, "nested": {ids}}."""
    by_group: dict[str, list[dict]] = {}
    for q in questions:
        if q.get("group_id") and q["status"] in ("pending", "published"):
            by_group.setdefault(q["group_id"], []).append(q)
    leads, nested = {}, set()
    for group_id, members in by_group.items():
        waiting = sorted((m for m in members if m["status"] == "pending"), key=lambda m: (m["created_at"], m["id"]))
        published = [m for m in members if m["status"] == "published"]
        if not waiting or len(members) < 2:
            continue
        leads[waiting[0]["id"]] = {"group_id": group_id, "members": waiting[1:], "published": published}
        nested.update(m["id"] for m in waiting[1:])
    return {"leads": leads, "nested": nested}


_PARTICIPANT_STATE = ("select * from questions where participant_id = %s order by created_at",
                      "select * from private_messages where participant_id = %s order by created_at")
_VOTES_AND_SETTINGS = ("select array(select poll_id from poll_votes where participant_id = %s) as voted_polls,"
                       " array(select question_id from question_votes where participant_id = %s) as voted_questions,"
                       " (select settings from tenants where id = %s) as settings")


def participant_state(tx: Tx, participant_id: UUID) -> dict:
    """Read on every live join: three reads in one pipelined round trip."""
    with tx.conn.pipeline():
        pending = send_participant_state(tx, participant_id)
    return pending()


def send_participant_state(tx: Tx, participant_id: UUID):
    """Send a resident's state reads without waiting (in pipeline mode they go out with whatever the
    caller sends next); returns the function that reads the results into the state dict."""
    cursors = [tx.conn.execute(query, [participant_id]) for query in _PARTICIPANT_STATE]
    votes_cursor = tx.conn.execute(_VOTES_AND_SETTINGS, [participant_id, participant_id, tx.tenant_id])

    def read() -> dict:
        questions, messages = (cursor.fetchall() for cursor in cursors)
        votes = votes_cursor.fetchone()
        settings = votes["settings"] or {}
        return {
            "questions": [own_question(q, settings) for q in questions],
            "messages": [{"id": str(m["id"]), "kind": m["kind"], "body": m["body"],
                          "question_id": str(m["question_id"]) if m["question_id"] else None,
                          "at": m["created_at"].isoformat()} for m in messages],
            "voted_polls": [str(poll_id) for poll_id in votes["voted_polls"]],
            "voted_questions": [str(question_id) for question_id in votes["voted_questions"]],
        }
    return read


def poll_counts(tx: Tx, poll_id) -> dict[int, int]:
    rows = tx.all("select option_id, count(*) as n from poll_votes, unnest(option_ids) as option_id"
                  " where poll_id = %s group by option_id", [poll_id])
    return {r["option_id"]: r["n"] for r in rows}


def moderation_counts(tx: Tx, room_id: UUID) -> dict:
    """Published figures so residents can see moderation is fair: received, published, answered,
    merged as duplicates, rejected by reason. Escalated questions count as received only (they are
    never published). A merged duplicate is a rejection with reason 'duplicate' and `merged_into`."""
    row = tx.one("select count(*) as received,"
                 " count(*) filter (where status in ('published', 'hidden')) as published,"
                 " count(*) filter (where status = 'published' and exists (select 1 from answers a where a.question_id = q.id)) as answered,"
                 " count(*) filter (where status = 'rejected') as rejected,"
                 " count(*) filter (where status = 'rejected' and merged_into is not null) as merged,"
                 " count(*) filter (where status = 'pending') as waiting"
                 " from questions q where room_id = %s", [room_id])
    reasons = tx.all("select rejection_reason as reason, count(*) as n from questions"
                     " where room_id = %s and status = 'rejected' group by rejection_reason order by n desc, reason",
                     [room_id])
    return {**row, "rejected_by_reason": [{"reason": r["reason"], "label": REJECTION_REASONS[r["reason"]][0],
                                           "count": r["n"]} for r in reasons]}
