"""Transcripts of closed rooms: built from the room event log and the tables, stored in one transaction.

What is public is decided by the current state of each row (a question appears only if it is
`published` now: pending, rejected and hidden ones never do), and the order is the order of its
first public event in `room_events`. Display names are the only identity shown; email addresses
and phone numbers left in a published text are redacted as a last safety net; no email, IP or
network hash is read at all.

Every format (HTML fragment, plain text, JSON, CSV, PDF) is built in memory first, then written
with one upsert: a killed worker leaves either the old transcript or the new one, never part.
Output depends only on the data (times come from the rows, ordering is total), so a re-run gives
byte-identical files. The PDF is WeasyPrint's PDF/UA-1 variant: tagged, with a language and title.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import statistics
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from flask import current_app, render_template
from psycopg.types.json import Jsonb

from tenants import csv_safe
from services.lib.formatting import london
from services.lib.pdf import html_to_pdf
from services.live.queries import poll_counts
from services.engagement.reasons import REJECTION_REASONS
from services.screening.flags import redact_contact_details as clean
from services.media.webvtt import caption_text
from tenants.db import Tx, tenant_scope
from services.ops import jobs
from services.reminders.schedule import transcript_ready

log = logging.getLogger(__name__)

CLOSED_STATES = ("closed", "archived")
CSV_COLUMNS = ["seq", "type", "id", "parent_id", "time", "name", "role_title", "text", "votes"]


@dataclass(frozen=True)
class Built:
    html: str
    text: str
    json: str
    csv: str
    pdf: bytes
    figures: dict

    @property
    def digest(self) -> str:
        h = hashlib.sha256()
        for part in (self.html, self.text, self.json, self.csv):
            h.update(part.encode())
        h.update(self.pdf)
        return h.hexdigest()


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(timezone.utc).isoformat() if value else None


def _first_public_seq(tx: Tx, room_id) -> dict[tuple[str, str], int]:
    rows = tx.all("select type, data->>'id' as id, min(seq) as seq from room_events where room_id = %s"
                  " and type in ('question.published', 'announcement.posted', 'poll.opened')"
                  " group by type, data->>'id'", [room_id])
    kinds = {"question.published": "question", "announcement.posted": "announcement", "poll.opened": "poll"}
    return {(kinds[r["type"]], r["id"]): r["seq"] for r in rows}


def _figures(tx: Tx, room_id) -> dict:
    counts = tx.one(
        "select count(*) as received,"
        " count(*) filter (where status = 'published') as published,"
        " count(*) filter (where status = 'rejected') as rejected,"
        " count(*) filter (where status = 'rejected' and merged_into is not null) as merged,"
        " count(*) filter (where status = 'hidden') as hidden,"
        " count(*) filter (where status in ('pending', 'escalated')) as not_reached"
        " from questions where room_id = %s", [room_id])
    reasons = tx.all("select rejection_reason as reason, count(*) as n from questions where room_id = %s"
                     " and status = 'rejected' group by rejection_reason order by rejection_reason", [room_id])
    waits = tx.all("select extract(epoch from min(a.created_at) - q.created_at)::float as seconds"
                   " from questions q join answers a on a.question_id = q.id"
                   " where q.room_id = %s and q.status = 'published' group by q.id, q.created_at", [room_id])
    median = statistics.median(sorted(w["seconds"] for w in waits)) if waits else None
    return {
        "participants": tx.value("select count(*) from participants where room_id = %s", [room_id]),
        "questions_received": counts["received"],
        "questions_published": counts["published"],
        "questions_rejected": counts["rejected"],
        "questions_merged": counts["merged"],
        "questions_hidden": counts["hidden"],
        "questions_not_reached": counts["not_reached"],
        "questions_answered": len(waits),
        "rejected_by_reason": {r["reason"] or "unspecified": r["n"] for r in reasons},
        "median_seconds_to_answer": round(median, 1) if median is not None else None,
    }


def collect(tx: Tx, room: dict) -> dict:
    """Everything public about a closed room, as plain data in a total order."""
    room_id = room["id"]
    first = _first_public_seq(tx, room_id)
    tenant = tx.one("select name from tenants where id = %s", [tx.tenant_id])
    timeline: list[dict] = []
    questions = tx.all("select q.id, q.body, q.asked_in_advance, q.vote_count, q.published_at, p.display_name,"
                       " 1 + (select count(*) from questions m where m.merged_into = q.id) as asked_by"
                       " from questions q join participants p on p.id = q.participant_id"
                       " where q.room_id = %s and q.status = 'published'", [room_id])
    answers = tx.all("select a.id, a.question_id, a.body, a.created_at, u.display_name, u.title from answers a"
                     " join staff_users u on u.id = a.staff_id join questions q on q.id = a.question_id"
                     " where a.room_id = %s and q.status = 'published' order by a.created_at, a.id", [room_id])
    by_question: dict = {}
    for a in answers:
        by_question.setdefault(a["question_id"], []).append(
            {"id": str(a["id"]), "by": a["display_name"], "title": a["title"], "body": clean(a["body"]),
             "at": _iso(a["created_at"])})
    for q in questions:
        timeline.append({"type": "question", "seq": first.get(("question", str(q["id"]))), "id": str(q["id"]),
                         "display_name": clean(q["display_name"]), "body": clean(q["body"]),
                         "asked_in_advance": q["asked_in_advance"], "votes": q["vote_count"],
                         "asked_by": q["asked_by"],
                         "at": _iso(q["published_at"]), "answers": by_question.get(q["id"], [])})
    for a in tx.all("select a.id, a.body, a.created_at, u.display_name, u.title from announcements a"
                    " join staff_users u on u.id = a.staff_id where a.room_id = %s", [room_id]):
        timeline.append({"type": "announcement", "seq": first.get(("announcement", str(a["id"]))), "id": str(a["id"]),
                         "by": a["display_name"], "title": a["title"], "body": clean(a["body"]),
                         "at": _iso(a["created_at"])})
    for p in tx.all("select * from polls where room_id = %s", [room_id]):
        counts = poll_counts(tx, p["id"])
        timeline.append({"type": "poll", "seq": first.get(("poll", str(p["id"]))), "id": str(p["id"]),
                         "prompt": p["prompt"], "kind": p["kind"], "at": _iso(p["created_at"]),
                         "total_votes": sum(counts.values()),
                         "options": [{"label": o["label"], "votes": counts.get(o["id"], 0)} for o in p["options"]]})
    timeline.sort(key=lambda item: (item["seq"] if item["seq"] is not None else 1 << 62, item["at"] or "", item["id"]))
    media = [{"id": str(m["id"]), "title": m["title"], "kind": m["kind"], "captions": caption_text(m["captions_vtt"])}
             for m in tx.all("select * from media where room_id = %s and status = 'ready' and captions_vtt is not null"
                             " order by created_at, id", [room_id])]
    return {
        "format": "townhall-transcript/1",
        "tenant": tenant["name"],
        "room": {"id": str(room_id), "title": room["title"], "description": room["description"], "area": room["area"],
                 "language": room["language"], "starts_at": _iso(room["starts_at"]), "ends_at": _iso(room["ends_at"]),
                 "opened_at": _iso(room["opened_at"]), "closed_at": _iso(room["closed_at"])},
        "figures": _figures(tx, room_id),
        "timeline": timeline,
        "media": [m for m in media if m["captions"]],
    }


def _when(iso: str | None, fmt: str = "%A %-d %B %Y, %-I:%M%p") -> str:
    return london(datetime.fromisoformat(iso), fmt) if iso else ""


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "no questions were answered"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{hours} h" if hours else "", f"{minutes} min" if minutes else "", f"{secs} s" if secs or not (hours or minutes) else ""]
    return " ".join(p for p in parts if p)


def _csv(data: dict) -> str:
    out = io.StringIO()
    writer = csv_safe.writer(out, lineterminator="\r\n")   # residents' text must not run as a formula
    writer.writerow(CSV_COLUMNS)
    for item in data["timeline"]:
        if item["type"] == "question":
            writer.writerow([item["seq"], "question", item["id"], "", item["at"], item["display_name"], "",
                             item["body"], item["votes"]])
            for a in item["answers"]:
                writer.writerow([item["seq"], "answer", a["id"], item["id"], a["at"], a["by"], a["title"], a["body"], ""])
        elif item["type"] == "announcement":
            writer.writerow([item["seq"], "announcement", item["id"], "", item["at"], item["by"], item["title"],
                             item["body"], ""])
        else:
            writer.writerow([item["seq"], "poll", item["id"], "", item["at"], "", "", item["prompt"], item["total_votes"]])
            for n, option in enumerate(item["options"], start=1):
                writer.writerow([item["seq"], "poll_option", f"{item['id']}:{n}", item["id"], "", "", "",
                                 option["label"], option["votes"]])
    for m in data["media"]:
        writer.writerow(["", "captions", m["id"], "", "", "", "", m["captions"], ""])
    return out.getvalue()


def render_outputs(data: dict) -> Built:
    context = {"t": data, "when": _when, "duration": _duration, "reasons": REJECTION_REASONS}
    html = render_template("transcripts/_body.html", **context)
    text = render_template("transcripts/transcript.txt", **context) + "\n"
    document = render_template("transcripts/pdf.html", **context)   # includes the same fragment
    pdf = html_to_pdf(document)
    return Built(html=html, text=text, json=json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
                 csv=_csv(data), pdf=pdf, figures=data["figures"])


def store(tx: Tx, room: dict, built: Built) -> None:
    from services.api import webhooks

    tx.execute(
        "insert into transcripts (tenant_id, room_id, html, text, json, csv, pdf, figures, digest)"
        " values (%s, %s, %s, %s, %s, %s, %s, %s, %s) on conflict (room_id) do update set"
        " html = excluded.html, text = excluded.text, json = excluded.json, csv = excluded.csv, pdf = excluded.pdf,"
        " figures = excluded.figures, digest = excluded.digest, generation = transcripts.generation + 1,"
        " built_at = now() returning generation",
        [tx.tenant_id, room["id"], built.html, built.text, built.json, built.csv, built.pdf, Jsonb(built.figures),
         built.digest])
    transcript_ready(tx, room)
    if tx.value("select generation from transcripts where room_id = %s", [room["id"]]) == 1:
        # the first build only: corrected captions rebuild the transcript without announcing it again
        webhooks.enqueue(tx, "transcript.ready", {**webhooks.room_payload(room), "digest": built.digest})


def _test_pause(room_id) -> None:
    """Test-only: hold the task between building and storing, so a test can kill the worker here."""
    config = current_app.config["TOWNHALL"]
    delay = os.environ.get("TOWNHALL_TEST_TRANSCRIPT_DELAY")
    if config.env != "test" or not delay:
        return
    marker = os.environ.get("TOWNHALL_TEST_TRANSCRIPT_MARKER")
    if marker:
        Path(marker).mkdir(parents=True, exist_ok=True)
        (Path(marker) / str(room_id)).write_text(str(os.getpid()))
    time.sleep(float(delay))


def build_and_store(tenant_id, room_id) -> str:
    with tenant_scope(tenant_id) as tx:
        room = tx.one("select * from rooms where id = %s", [room_id])
        if room is None or room["state"] not in CLOSED_STATES:
            return "not closed"   # missing, another tenant's, or not closed yet
        built = render_outputs(collect(tx, room))
    _test_pause(room_id)
    with tenant_scope(tenant_id) as tx:
        room = tx.one("select * from rooms where id = %s for update", [room_id])
        if room is None:
            return "gone"
        store(tx, room, built)
        tx.after_commit(_announce)
    return "stored"


def _announce() -> None:
    """"The transcript is ready" mails are queued rows: ask the reminders task to send them now."""
    jobs.enqueue(jobs.DISPATCH_REMINDERS)
