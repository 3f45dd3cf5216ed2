"""Theme suggestions and "what else residents raised": pure rules over embeddings, no I/O.

A theme's prototype is its name's embedding, pulled towards the centroid of the questions staff
have already tagged with it (in any chat of the tenant), so suggestions learn the tenant's own
usage. A question's suggestion is the most similar prototype when that similarity reaches
`SUGGEST_FLOOR`; below it the question is "unthemed" and may join a new cluster.
"""
from __future__ import annotations

import numpy as np

SUGGEST_FLOOR = 0.80     # chosen on the tuning half (services/assist/evaluate.py)
CLUSTER_THRESHOLD = 0.86
NAME_WEIGHT = 0.5        # how much the theme's name counts against its tagged examples


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v)
    return v / n if n else v


def prototypes(name_vectors: np.ndarray, examples: list[np.ndarray]) -> np.ndarray:
    """One row per theme: `examples[i]` holds the embeddings of questions tagged with theme i."""
    rows = []
    for name, tagged in zip(name_vectors, examples):
        if len(tagged):
            rows.append(_unit(NAME_WEIGHT * name + (1 - NAME_WEIGHT) * _unit(np.mean(tagged, axis=0))))
        else:
            rows.append(_unit(name))
    return np.stack(rows) if rows else np.zeros((0, name_vectors.shape[1] if name_vectors.ndim == 2 else 0))


def suggest(vectors: np.ndarray, protos: np.ndarray, floor: float = SUGGEST_FLOOR) -> list[tuple[int, float] | None]:
    """For each question, (index of the suggested theme, similarity), or None when nothing fits."""
    if len(protos) == 0:
        return [None] * len(vectors)
    scores = vectors @ protos.T
    out: list[tuple[int, float] | None] = []
    for row in scores:
        best = int(np.argmax(row))
        out.append((best, float(row[best])) if row[best] >= floor else None)
    return out


def clusters(vectors: np.ndarray, threshold: float = CLUSTER_THRESHOLD, min_size: int = 2) -> list[dict]:
    """Greedy clusters (each question joins the cluster whose centroid is most similar, if close
    enough): [{"members": [indexes], "label": index of the most typical member}], largest first."""
    groups: list[list[int]] = []
    centroids: list[np.ndarray] = []
    for i, v in enumerate(vectors):
        if centroids:
            scores = np.stack(centroids) @ v
            best = int(np.argmax(scores))
            if scores[best] >= threshold:
                groups[best].append(i)
                centroids[best] = _unit(np.mean(vectors[groups[best]], axis=0))
                continue
        groups.append([i])
        centroids.append(_unit(v))
    out = []
    for members, centre in zip(groups, centroids):
        if len(members) >= min_size:
            label = members[int(np.argmax(vectors[members] @ centre))]
            out.append({"members": members, "label": label})
    return sorted(out, key=lambda c: (-len(c["members"]), c["members"][0]))
