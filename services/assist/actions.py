"""Moderator assist's writes in the live path: a question's embedding and the group it joins,
in the caller's transaction (so the staff event that announces the question carries its group).

Questions the safety screening flagged are never grouped (nor compared with): they keep their
own card. Assist never stands in a question's way: if the engine is off or fails, the question arrives
ungrouped, as before.
"""
from __future__ import annotations

import logging
from time import perf_counter
from uuid import UUID

import numpy as np

from services.assist.engine import get_engine
from services.assist.grouping import MAX_CANDIDATES, Candidate, choose_group, language_of
from services.ops import metrics
from tenants.db import Tx

log = logging.getLogger(__name__)


def as_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def as_matrix(blobs: list[bytes]) -> np.ndarray:
    return np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(blobs), -1) if blobs else np.zeros((0, 0), "<f4")


def group_on_arrival(tx: Tx, question: dict) -> tuple[str, str, float] | None:
    """Embed a new question, store it, and put it in the group of the most similar earlier
    question of its room (pending or published) when close enough: (group id, nearest, score)."""
    engine = get_engine()
    if engine is None or (question.get("safety_category") or "none") != "none":
        return None     # a possible emergency or crime report keeps its own card, first in "flagged" order
    if not tx.value("select coalesce((settings->>'assist_grouping')::boolean, true) from tenants where id = %s",
                    [tx.tenant_id]):
        return None     # the tenant turned grouping off (tenant setting `assist_grouping`)
    started = perf_counter()
    try:
        vector = engine.embed([question["body"]])[0]
    except Exception:   # noqa: BLE001 - assist is a help, never a reason to lose a question
        log.warning("assist: embedding failed; question %s left ungrouped", question["id"], exc_info=True)
        return None
    language = language_of(question["body"])
    rows = tx.all("select e.question_id, e.language, e.embedding, q.group_id from question_embeddings e"
                  " join questions q on q.id = e.question_id where e.room_id = %s and e.engine = %s"
                  " and not e.split_out and q.status in ('pending', 'published') and q.id <> %s"
                  " order by e.created_at desc limit %s",
                  [question["room_id"], engine.name, question["id"], MAX_CANDIDATES])
    found = None
    if rows:
        candidates = [Candidate(str(r["question_id"]), str(r["group_id"]) if r["group_id"] else None, r["language"])
                      for r in rows]
        found = choose_group(vector, language, candidates, as_matrix([bytes(r["embedding"]) for r in rows]))
    tx.execute("insert into question_embeddings (tenant_id, question_id, room_id, engine, language, embedding)"
               " values (%s, %s, %s, %s, %s, %s)",
               [tx.tenant_id, question["id"], question["room_id"], engine.name, language, as_bytes(vector)])
    if found:
        group_id, nearest, _ = found
        tx.execute("update questions set group_id = %s where id = any(%s::uuid[]) and group_id is null",
                   [group_id, [nearest, str(question["id"])]])
        question["group_id"] = UUID(group_id)
    metrics.assist_grouped(perf_counter() - started)
    return found
