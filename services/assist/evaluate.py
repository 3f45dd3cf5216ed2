"""Measure moderator assist on the labelled questions (tests/data/assist/questions.jsonl):

    python -m services.assist.evaluate

chooses the grouping thresholds on the tuning half (split by paraphrase group), then reports on
the held-out half: precision and recall of "same question" pairs as the live path groups them
(questions arriving one by one in shuffled orders), by language; top-1 theme accuracy (from the
theme names alone, and with the tuning half as the tenant's earlier tagged questions); embedding
time per question and the memory of the loaded model.
"""
from __future__ import annotations

import json
import random
import resource
import time
from itertools import combinations
from pathlib import Path

import numpy as np

from services.assist import grouping, themes

DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "assist" / "questions.jsonl"
ORDERS = 3                 # shuffled arrival orders averaged
PRECISION_GOAL = 0.9
TUNING_MARGIN = 0.03       # tune for a little more precision than the goal, for unseen wording
THEME_NAMES = {            # what a tenant calls its themes (the names staff type in settings)
    "precept": "Precept and council tax", "plan": "Police and Crime Plan and accountability",
    "asb": "Antisocial behaviour", "road_safety": "Road safety and speeding",
    "rural_crime": "Rural and wildlife crime", "recruitment": "Officer recruitment and volunteering",
    "drugs": "Drugs and county lines", "burglary": "Burglary and home security",
    "neighbourhood": "Neighbourhood policing, patrols and 101", "vawg": "Violence against women and girls",
    "fraud": "Fraud and scams", "youth": "Young people and knife crime", "victims": "Supporting victims",
    "retail": "Shoplifting and retail crime",
}


def load(path: Path = DATA) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def pair_scores(rows: list[dict], predicted: dict[str, str]) -> tuple[int, int, int]:
    """(true positives, predicted pairs, gold pairs) over every pair of rows."""
    tp = pp = gp = 0
    for a, b in combinations(rows, 2):
        gold = a["group"] == b["group"]
        said = predicted[a["id"]] == predicted[b["id"]]
        tp += gold and said
        pp += said
        gp += gold
    return tp, pp, gp


def grouped(rows: list[dict], vectors: dict[str, np.ndarray], thresholds: dict[str, float],
            orders: int = ORDERS) -> dict:
    """Pair precision/recall summed over `orders` shuffled arrivals of `rows` as one room."""
    tp = pp = gp = 0
    for seed in range(orders):
        order = rows[:]
        random.Random(seed).shuffle(order)
        ids = [r["id"] for r in order]
        found = grouping.group_in_order(np.stack([vectors[i] for i in ids]),
                                        [grouping.language_of(r["text"]) for r in order], ids, thresholds)
        a, b, c = pair_scores(order, found)
        tp, pp, gp = tp + a, pp + b, gp + c
    return {"precision": tp / pp if pp else 1.0, "recall": tp / gp if gp else 0.0, "pairs": gp // orders}


def choose_threshold(rows: list[dict], vectors, language: str, floor: float, others: dict) -> float:
    """Coming down from 0.99, the last threshold before tuning precision falls below the goal
    plus margin: as much recall as precision allows, never a lucky dip further down."""
    chosen = 0.99
    for t in np.arange(0.99, floor - 1e-9, -0.0025):
        thresholds = {**others, language: round(float(t), 4)}
        if grouped(rows, vectors, thresholds, orders=2)["precision"] < PRECISION_GOAL + TUNING_MARGIN:
            break
        chosen = round(float(t), 4)
    return chosen


def theme_accuracy(tuning: list[dict], heldout: list[dict], vectors, engine, with_examples: bool) -> float:
    labels = sorted(THEME_NAMES)
    names = engine.embed([THEME_NAMES[k] for k in labels])
    examples = [np.array([vectors[r["id"]] for r in tuning if r["theme"] == k]) if with_examples else np.zeros((0,))
                for k in labels]
    protos = themes.prototypes(names, examples)
    picks = themes.suggest(np.stack([vectors[r["id"]] for r in heldout]), protos, floor=-1.0)
    return sum(labels[p[0]] == r["theme"] for p, r in zip(picks, heldout)) / len(heldout)


def suggestion_coverage(heldout: list[dict], vectors, engine) -> dict:
    """With theme names alone (a tenant's first closed chat): the share of held-out questions that
    get a suggestion at SUGGEST_FLOOR, and how often it is right."""
    labels = sorted(THEME_NAMES)
    protos = themes.prototypes(engine.embed([THEME_NAMES[k] for k in labels]), [np.zeros((0,))] * len(labels))
    picks = themes.suggest(np.stack([vectors[r["id"]] for r in heldout]), protos)
    made = [(p, r) for p, r in zip(picks, heldout) if p is not None]
    return {"floor": themes.SUGGEST_FLOOR, "suggested_share": len(made) / len(heldout),
            "right_when_suggested": sum(labels[p[0]] == r["theme"] for p, r in made) / len(made) if made else 0.0}


def measure(engine=None) -> dict:
    from services.assist.engine import get_engine

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    engine = engine or get_engine()
    load_ms = (time.perf_counter() - started) * 1000
    rss_model = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    rows = load()
    timings = []
    vectors = {}
    for r in rows:
        t0 = time.perf_counter()
        vectors[r["id"]] = engine.embed([r["text"]])[0]
        timings.append((time.perf_counter() - t0) * 1000)
    tuning = [r for r in rows if r["split"] == "tuning"]
    heldout = [r for r in rows if r["split"] == "heldout"]
    en = choose_threshold(tuning, vectors, "en", 0.85, {"cy": 1.01})
    cy = max(en, choose_threshold(tuning, vectors, "cy", en, {"en": en}))
    thresholds = {"en": en, "cy": cy}
    result = {
        "engine": engine.name, "rows": len(rows), "tuning_rows": len(tuning), "heldout_rows": len(heldout),
        "thresholds": thresholds,
        "tuning": grouped(tuning, vectors, thresholds),
        "heldout": grouped(heldout, vectors, thresholds),
        "heldout_welsh": grouped([r for r in heldout if r["lang"] != "en"], vectors, thresholds),
        "heldout_english": grouped([r for r in heldout if r["lang"] == "en"], vectors, thresholds),
        "theme_top1_names_only": theme_accuracy(tuning, heldout, vectors, engine, with_examples=False),
        "theme_top1_with_tagged_examples": theme_accuracy(tuning, heldout, vectors, engine, with_examples=True),
        "theme_suggestions_names_only": suggestion_coverage(heldout, vectors, engine),
        "embed_ms_p50": float(np.percentile(timings, 50)), "embed_ms_p95": float(np.percentile(timings, 95)),
        "model_load_ms": load_ms, "model_rss_mb": rss_model,
    }
    return result


def main() -> None:
    result = measure()
    print(json.dumps(result, indent=2, default=lambda v: round(v, 3)))
    h = result["heldout"]
    print(f"\nheld-out pairs: precision {h['precision']:.3f} at recall {h['recall']:.3f} "
          f"(goal precision >= {PRECISION_GOAL} at recall >= 0.6); thresholds {result['thresholds']}")


if __name__ == "__main__":
    main()
