"""Theme suggestions for a closed chat, and "what else residents raised" for the report.

`suggest_for_room` (run by the worker, `jobs.SUGGEST_THEMES`) reads every published question of
a closed chat that has no theme, embeds those the live path has not already embedded, and writes
one `theme_suggestions` row for the most similar theme when it is close enough. It is idempotent
and commits in batches, so a worker killed part-way leaves what it wrote and a second run
finishes the rest without doubling anything. Nothing is tagged: staff accept or reject
suggestions in bulk (`decide`), and only an accepted one becomes a `question_themes` row.

`raised_clusters` (request time: the embeddings are already stored) clusters the report's
published questions that have no theme and no pending suggestion, labelled by their most typical
question, for the report's "What else residents raised".
"""
from __future__ import annotations

import logging

import numpy as np

from services.assist import themes as theme_rules
from services.assist.actions import as_bytes, as_matrix
from services.assist.engine import get_engine
from services.assist.grouping import language_of
from tenants import audit
from tenants.db import Tx, tenant_scope
from tenants.errors import Conflict, NotFound, ValidationFailed
from tenants.ids import parse_uuid
from tenants.roles import require

log = logging.getLogger(__name__)

BATCH = 50
EXAMPLES_PER_THEME = 200


def _untagged(tx: Tx, room_id) -> list[dict]:
    return tx.all("select q.id, q.body, e.embedding from questions q"
                  " left join question_embeddings e on e.question_id = q.id and e.engine = %s"
                  " where q.room_id = %s and q.status = 'published'"
                  " and not exists (select 1 from question_themes t where t.question_id = q.id)"
                  " and not exists (select 1 from theme_suggestions s where s.question_id = q.id)"
                  " order by q.published_at, q.id", [get_engine().name, room_id])


def _prototypes(tx: Tx, engine, themes: list[dict]) -> np.ndarray:
    names = engine.embed([t["name"] for t in themes])
    examples = []
    for t in themes:
        rows = tx.all("select e.embedding from question_themes qt join question_embeddings e"
                      " on e.question_id = qt.question_id and e.engine = %s where qt.theme_id = %s"
                      " order by qt.created_at desc limit %s", [engine.name, t["id"], EXAMPLES_PER_THEME])
        examples.append(as_matrix([bytes(r["embedding"]) for r in rows]))
    return theme_rules.prototypes(names, examples)


def suggest_for_room(tenant_id, room_id, *, after_batch=None) -> str:
    """Write suggestions for a closed chat's untagged published questions; returns an outcome word.
    `after_batch(n)` is called after each committed batch (tests stop a run there)."""
    engine = get_engine()
    if engine is None:
        return "assist off"
    with tenant_scope(tenant_id) as tx:
        room = tx.one("select id, state from rooms where id = %s", [room_id])
        if room is None:
            return "no such room"
        if room["state"] not in ("closed", "archived"):
            return "not closed"
        themes = tx.all("select id, name from themes where not archived order by lower(name), id")
        if not themes:
            return "no themes"
        protos = _prototypes(tx, engine, themes)
        todo = _untagged(tx, room["id"])
    written = 0
    for start in range(0, len(todo), BATCH):
        batch = todo[start:start + BATCH]
        missing = [q for q in batch if q["embedding"] is None]
        fresh = dict(zip([q["id"] for q in missing], engine.embed([q["body"] for q in missing])))
        vectors = np.stack([fresh[q["id"]] if q["embedding"] is None else as_matrix([bytes(q["embedding"])])[0]
                            for q in batch])
        picks = theme_rules.suggest(vectors, protos)
        with tenant_scope(tenant_id) as tx:
            for q in missing:
                tx.execute("insert into question_embeddings (tenant_id, question_id, room_id, engine, language, embedding)"
                           " values (%s, %s, %s, %s, %s, %s) on conflict (question_id) do nothing",
                           [tx.tenant_id, q["id"], room["id"], engine.name, language_of(q["body"]),
                            as_bytes(fresh[q["id"]])])
            for q, pick in zip(batch, picks):
                if pick is None:
                    continue
                index, score = pick
                written += tx.execute(
                    "insert into theme_suggestions (tenant_id, room_id, question_id, theme_id, score)"
                    " select %s, %s, %s, %s, %s where exists (select 1 from themes where id = %s and not archived)"
                    " on conflict (question_id, theme_id) do nothing",
                    [tx.tenant_id, room["id"], q["id"], themes[index]["id"], round(score, 4),
                     themes[index]["id"]]).rowcount
        if after_batch:
            after_batch(start // BATCH + 1)
    log.info("theme suggestions for room %s: %d written for %d questions", room["id"], written, len(todo))
    return "suggested"


def list_suggestions(tx: Tx, room_id, state: str = "suggested") -> list[dict]:
    return tx.all("select s.id, s.score, s.state, s.question_id, q.body, t.name as theme, t.id as theme_id"
                  " from theme_suggestions s join questions q on q.id = s.question_id"
                  " join themes t on t.id = s.theme_id where s.room_id = %s and s.state = %s"
                  " order by t.name, s.score desc, s.id", [room_id, state])


def decide(tx: Tx, staff, room_id, suggestion_ids: list, accept: bool) -> int:
    """Accept (tag the questions) or reject suggestions, all at once; returns how many changed."""
    require(staff.role, "question.moderate")
    ids = [parse_uuid(i) for i in suggestion_ids]
    if not ids or any(i is None for i in ids):
        raise ValidationFailed("Choose at least one suggestion.", field="suggestion_ids")
    rows = tx.all("select * from theme_suggestions where id = any(%s) and room_id = %s for update", [ids, room_id])
    if len(rows) != len(set(ids)):
        raise NotFound("We could not find those suggestions.")
    if any(r["state"] != "suggested" for r in rows):
        raise Conflict("Some of those suggestions were already decided: reload the page.")
    state = "accepted" if accept else "rejected"
    tx.execute("update theme_suggestions set state = %s, decided_by = %s, decided_at = now() where id = any(%s)",
               [state, staff.id, ids])
    if accept:
        for r in rows:
            tx.execute("insert into question_themes (tenant_id, question_id, theme_id, tagged_by)"
                       " values (%s, %s, %s, %s) on conflict do nothing",
                       [tx.tenant_id, r["question_id"], r["theme_id"], staff.id])
    audit.record_staff(tx, staff, f"theme_suggestions.{state}", "room", room_id,
                       {"count": len(rows), "suggestions": [str(r["id"]) for r in rows]})
    return len(rows)


def raised_clusters(tx: Tx, room_ids: list, limit: int = 10) -> list[dict]:
    """Clusters of the rooms' published questions with no theme and no open suggestion."""
    engine = get_engine()
    if engine is None or not room_ids:
        return []
    rows = tx.all("select q.id, q.body, e.embedding from questions q join question_embeddings e"
                  " on e.question_id = q.id and e.engine = %s where q.room_id = any(%s) and q.status = 'published'"
                  " and not exists (select 1 from question_themes t where t.question_id = q.id)"
                  " and not exists (select 1 from theme_suggestions s where s.question_id = q.id"
                  " and s.state in ('suggested', 'accepted')) order by q.published_at, q.id",
                  [engine.name, list(room_ids)])
    if len(rows) < 2:
        return []
    found = theme_rules.clusters(as_matrix([bytes(r["embedding"]) for r in rows]))
    return [{"label": rows[c["label"]]["body"], "count": len(c["members"]),
             "questions": [rows[i]["body"] for i in c["members"]]} for c in found[:limit]]
