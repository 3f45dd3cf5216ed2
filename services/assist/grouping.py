"""Grouping similar questions: pure rules, no I/O (the live path and the evaluation share them).

A new question is compared (cosine of normalised embeddings) with the earlier questions of its
room that are still in play; it joins the group of the most similar one when that similarity
reaches the threshold for its language, else it starts no group (a group needs two members).

Welsh and mixed text are handled conservatively: a question is only ever compared with questions
in the same language (the model's English-Welsh similarities sit in the same band as unrelated
English pairs), Welsh needs a stricter threshold, and text mixing both languages is never
grouped. Not grouping costs the moderator a second look; a wrong group could hide a question.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.screening.language import language_words

# Chosen on the tuning half of tests/data/assist/questions.jsonl by `python -m services.assist.evaluate`
THRESHOLDS = {"en": 0.925, "cy": 0.925}
MAX_CANDIDATES = 2000      # the room's latest questions compared with a new one

def language_of(text: str) -> str:
    """'en', 'cy', or 'mixed' when both languages carry the sentence (two or more of each's
    everyday words), the case where the model is least reliable."""
    welsh, english = language_words(text)
    if welsh >= 2 and english >= 2:
        return "mixed"
    return "cy" if welsh > english else "en"


@dataclass(frozen=True)
class Candidate:
    question_id: str
    group_id: str | None     # None: in no group yet (its own id becomes the group's when joined)
    language: str


def choose_group(vector: np.ndarray, language: str, candidates: list[Candidate], matrix: np.ndarray,
                 thresholds: dict[str, float] = THRESHOLDS) -> tuple[str, str, float] | None:
    """(group id, most similar question id, similarity) to join, or None. `matrix` holds the
    candidates' embeddings in the same order."""
    if language not in thresholds or not candidates:
        return None
    scores = matrix @ vector
    same = np.array([c.language == language for c in candidates])
    scores = np.where(same, scores, -1.0)
    best = int(np.argmax(scores))
    score = float(scores[best])
    if score < thresholds[language]:
        return None
    nearest = candidates[best]
    return (nearest.group_id or nearest.question_id), nearest.question_id, score


def group_in_order(vectors: np.ndarray, languages: list[str], ids: list[str],
                   thresholds: dict[str, float] = THRESHOLDS) -> dict[str, str]:
    """Questions arriving one by one, as a room sees them: question id -> group id (its own id
    when it joined none). What the evaluation measures."""
    group: dict[str, str] = {}
    candidates: list[Candidate] = []
    for i, qid in enumerate(ids):
        found = choose_group(vectors[i], languages[i], candidates, vectors[:i], thresholds)
        if found:
            gid, nearest, _ = found
            group[nearest] = gid
            group[qid] = gid
            candidates = [Candidate(c.question_id, gid, c.language) if c.question_id == nearest else c
                          for c in candidates]
        else:
            group[qid] = qid
        candidates.append(Candidate(qid, group[qid] if found else None, languages[i]))
    return group
