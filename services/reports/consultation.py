"""Consultation reports: the published questions, their answers and the poll results of chosen
rooms, grouped by the tenant's themes, as HTML (console), PDF (WeasyPrint, tagged PDF/UA-1) and
CSV (formula-injection guarded), for the OPCC's published consultation response.

Only what was public goes in: published questions (never pending, rejected, hidden or
escalated ones) and their answers, and closed or open polls. A question with several themes is
listed under each; questions and polls with none are under "Not themed". "What else residents
raised" clusters the unthemed questions by meaning (services/assist), labelled by their most
typical question: a reading aid for staff, not a tag.
"""
from __future__ import annotations

import io
from uuid import UUID

from tenants import csv_safe
from tenants.ids import parse_uuid
from services.assist.suggestions import raised_clusters
from services.lib.pdf import html_to_pdf
from services.live.queries import poll_counts
from tenants.db import Tx
from tenants.errors import NotFound

UNTHEMED = {"id": None, "name": "Not themed", "kind": "other"}
CSV_COLUMNS = ["theme", "theme_kind", "room", "type", "id", "parent_id", "text", "by", "votes"]


def report_rooms(tx: Tx, room_ids: list) -> list[dict]:
    """The chosen rooms (all closed or archived ones when none are chosen), oldest first."""
    if not room_ids:
        return tx.all("select * from rooms where state in ('closed', 'archived') order by starts_at, id")
    ids = [parse_uuid(r) for r in room_ids]
    if any(i is None for i in ids):
        raise NotFound("We could not find that chat.")
    rows = tx.all("select * from rooms where id = any(%s) order by starts_at, id", [ids])
    if len(rows) != len(set(ids)):
        raise NotFound("We could not find that chat.")   # another tenant's room looks missing
    return rows


def build(tx: Tx, room_ids: list) -> dict:
    rooms = report_rooms(tx, room_ids)
    ids = [r["id"] for r in rooms]
    titles = {r["id"]: r["title"] for r in rooms}
    themes = tx.all("select * from themes order by kind, lower(name)")
    questions = tx.all("select q.id, q.room_id, q.body, q.vote_count, q.published_at, p.display_name from questions q"
                       " join participants p on p.id = q.participant_id where q.room_id = any(%s)"
                       " and q.status = 'published' order by q.published_at, q.id", [ids])
    answers: dict[UUID, list] = {}
    for a in tx.all("select a.question_id, a.body, u.display_name, u.title from answers a"
                    " join staff_users u on u.id = a.staff_id join questions q on q.id = a.question_id"
                    " where q.room_id = any(%s) and q.status = 'published' order by a.created_at, a.id", [ids]):
        answers.setdefault(a["question_id"], []).append({"body": a["body"], "by": a["display_name"], "title": a["title"]})
    polls = tx.all("select * from polls where room_id = any(%s) order by created_at, id", [ids])
    q_themes = _links(tx, "select question_id as item, theme_id from question_themes where question_id = any(%s)",
                      [q["id"] for q in questions])
    p_themes = _links(tx, "select poll_id as item, theme_id from poll_themes where poll_id = any(%s)",
                      [p["id"] for p in polls])
    groups = []
    for theme in [*themes, UNTHEMED]:
        def belongs(item_id, links):
            linked = links.get(item_id, set())
            return theme["id"] in linked if theme["id"] else not linked
        group_questions = [{"id": str(q["id"]), "room": titles[q["room_id"]], "body": q["body"],
                            "display_name": q["display_name"], "votes": q["vote_count"],
                            "answers": answers.get(q["id"], [])} for q in questions if belongs(q["id"], q_themes)]
        group_polls = []
        for p in polls:
            if belongs(p["id"], p_themes):
                counts = poll_counts(tx, p["id"])
                group_polls.append({"id": str(p["id"]), "room": titles[p["room_id"]], "prompt": p["prompt"],
                                    "total": sum(counts.values()),
                                    "options": [{"label": o["label"], "votes": counts.get(o["id"], 0)}
                                                for o in p["options"]]})
        if group_questions or group_polls or (theme["id"] and not theme["archived"]):
            groups.append({"theme": theme["name"], "kind": theme["kind"], "questions": group_questions,
                           "polls": group_polls})
    tenant = tx.value("select name from tenants where id = %s", [tx.tenant_id])
    return {"tenant": tenant, "rooms": [{"id": str(r["id"]), "title": r["title"], "starts_at": r["starts_at"],
                                         "state": r["state"]} for r in rooms], "groups": groups,
            "raised": raised_clusters(tx, ids)}


def _links(tx: Tx, query: str, ids: list) -> dict:
    links: dict = {}
    for r in tx.all(query, [ids]) if ids else []:
        links.setdefault(r["item"], set()).add(r["theme_id"])
    return links


def to_csv(report: dict) -> str:
    out = io.StringIO()
    writer = csv_safe.writer(out, lineterminator="\r\n")   # residents' text must not run as a formula
    writer.writerow(CSV_COLUMNS)
    for g in report["groups"]:
        for q in g["questions"]:
            writer.writerow([g["theme"], g["kind"], q["room"], "question", q["id"], "", q["body"],
                             q["display_name"], q["votes"]])
            for n, a in enumerate(q["answers"], start=1):
                writer.writerow([g["theme"], g["kind"], q["room"], "answer", f"{q['id']}:{n}", q["id"],
                                 a["body"], f"{a['by']}, {a['title']}" if a["title"] else a["by"], ""])
        for p in g["polls"]:
            writer.writerow([g["theme"], g["kind"], p["room"], "poll", p["id"], "", p["prompt"], "", p["total"]])
            for n, o in enumerate(p["options"], start=1):
                writer.writerow([g["theme"], g["kind"], p["room"], "poll_option", f"{p['id']}:{n}",
                                 p["id"], o["label"], "", o["votes"]])
    return out.getvalue()


def to_pdf(html_document: str) -> bytes:
    return html_to_pdf(html_document)
