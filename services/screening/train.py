"""Train the `embedding-v2` screening model on the tuning set only:
`python -m services.screening.train` rewrites services/screening/models/embedding-v2.json.

Two softmax regressions (see `embedding.py`): `fast` over character n-grams and cues, `full` over
sentence embeddings, n-grams and cues. Thresholds come from 5-fold out-of-fold readings of the
tuning set (never the held-out set):
- settled: the lowest at which the fast reading's sure answers were right 99.5 % of the time and
  never sent a danger message to `none` nor an emergency elsewhere;
- emergency, emergency_ratio and guidance: on a grid, the set that keeps at least 97 % of tuning emergencies and
  raises at most 4 % false alarms on ordinary messages (a point below the issue's 5 %: unseen
  sets have run a point or two above the out-of-fold rate), with the best safeguarding and crime-report
  recall (the lower of the two). We prefer a false alarm (a line of guidance) to a miss;
- emergency_pattern: then, on the same terms, the emergency threshold for messages that tell of a
  pattern ("every night", "for months", "not right now"), at or above the emergency one.
"""
from __future__ import annotations

import itertools
import json

import numpy as np

from services.lib.encoder import shared_encoder
from services.screening.dataset import TUNING, load_examples
from services.screening.embedding import (CLASSES, MODEL_FILE, NAME, fast_features, reading,
                                          settled_class, softmax, windows)
from services.screening.ngrams import WIDTH
from services.screening.rules import FEATURE_NAMES, CueHits, find_cues

L2, STEPS, STEP_SIZE, FOLDS = 3e-3, 300, 0.05, 5
BLOCK_SCALE, CUE_SCALE = 4.0, 0.3    # embeddings and n-grams are unit vectors; cues are standardised
EMERGENCY_TARGET, FALSE_ALARMS_AT_MOST = 0.97, 0.04
GRID = [round(0.05 + 0.02 * i, 2) for i in range(43)]
RATIOS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
SETTLED_ACCURACY, SETTLED_GRID = 0.995, (0.9, 0.92, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99, 0.995, 1.0)


def column_scaling(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shift and scale per column: unit-vector blocks scaled, the trailing cue columns standardised."""
    cues = len(FEATURE_NAMES)
    shift, scale = np.zeros(features.shape[1]), np.full(features.shape[1], BLOCK_SCALE)
    shift[-cues:] = features[:, -cues:].mean(axis=0)
    scale[-cues:] = CUE_SCALE / (features[:, -cues:].std(axis=0) + 1e-6)
    return shift, scale


def fit(features: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Softmax regression (Adam, L2); the column scaling is folded back into the weights."""
    shift, scale = column_scaling(features)
    x = ((features - shift) * scale).astype(np.float32)
    onehot = np.eye(len(CLASSES), dtype=np.float32)[labels]
    params = [np.zeros((x.shape[1], len(CLASSES)), np.float32), np.zeros(len(CLASSES), np.float32)]
    first = [np.zeros_like(p) for p in params]
    second = [np.zeros_like(p) for p in params]
    for step in range(1, STEPS + 1):
        error = softmax(x @ params[0] + params[1]) - onehot
        grads = (x.T @ error / len(x) + L2 * params[0], error.mean(axis=0))
        for p, g, m, v in zip(params, grads, first, second):
            m *= 0.9
            m += 0.1 * g
            v *= 0.999
            v += 0.001 * g * g
            p -= STEP_SIZE * (m / (1 - 0.9 ** step)) / (np.sqrt(v / (1 - 0.999 ** step)) + 1e-8)
    weights = params[0] * scale[:, None].astype(np.float32)
    return weights, params[1] - (shift * scale).astype(np.float32) @ params[0]


def out_of_fold(whole: np.ndarray, per_example: list[np.ndarray], labels: np.ndarray, seed=7) -> list[dict]:
    order = np.random.default_rng(seed).permutation(len(labels))
    readings: list = [None] * len(labels)
    for fold in range(FOLDS):
        test = order[fold::FOLDS]
        weights, bias = fit(whole[np.setdiff1d(order, test)], labels[np.setdiff1d(order, test)])
        for i in test:
            readings[i] = reading(softmax(per_example[i] @ weights + bias))
    return readings


def lowest_settled(readings: list[dict], labels: list[str]) -> float:
    """The lowest threshold at which the fast reading's sure answers are safe to keep."""
    for threshold in SETTLED_GRID:
        sure = [(settled_class(r, threshold), label) for r, label in zip(readings, labels)]
        sure = [(got, label) for got, label in sure if got]
        dangerous = any((got == "none" and label != "none") or (label == "emergency" and got != label)
                        for got, label in sure)
        if sure and not dangerous and sum(got == label for got, label in sure) / len(sure) >= SETTLED_ACCURACY:
            return threshold
    return 1.01   # nothing settles: every message is read in full


class Readings:
    """The out-of-fold readings of the tuning set as arrays, so a threshold candidate is scored
    with a few array operations (the grid has 11,000 candidates) rather than a loop per message."""

    def __init__(self, full: list[dict], fast: list[dict], labels: list[str], cues: list[CueHits]):
        self.full = {name: np.asarray([r[name] for r in full]) for name in CLASSES}
        self.fast = fast
        self.labels = np.asarray([CLASSES.index(label) for label in labels])
        self.forced = np.asarray([hits.forces_emergency for hits in cues])
        self.pattern = np.asarray([hits.tells_of_a_pattern for hits in cues])
        self._settled: dict[float, np.ndarray] = {}

    def settled(self, threshold: float) -> np.ndarray:
        """Per message, the fast reading's sure class index, or -1 (rule-forced messages never settle)."""
        if threshold not in self._settled:
            sure = [settled_class(r, threshold) for r in self.fast]
            self._settled[threshold] = np.where(self.forced, -1, [CLASSES.index(c) if c else -1 for c in sure])
        return self._settled[threshold]

    def decided(self, thresholds: dict) -> np.ndarray:
        """`decide` (embedding.py) for every message at once, after the fast reading's sure answers."""
        e, s, r, n = (self.full[name] for name in CLASSES)
        bar = np.where(self.pattern, thresholds["emergency_pattern"], thresholds["emergency"])
        emergency = self.forced | ((e >= bar) & (e >= thresholds["emergency_ratio"] * np.maximum(s, r)))
        guidance = np.where(s >= r, CLASSES.index("safeguarding"), CLASSES.index("report_crime"))
        full = np.where(emergency, 0, np.where(1 - n >= thresholds["guidance"], guidance, CLASSES.index("none")))
        settled = self.settled(thresholds["settled"])
        return np.where(settled >= 0, settled, full)


def choose_thresholds(readings: Readings, labels: list[str]) -> dict:
    thresholds = {"settled": lowest_settled(readings.fast, labels)}
    best = best_on_grid([{**thresholds, "emergency": emergency, "emergency_ratio": ratio, "guidance": guidance,
                          "emergency_pattern": emergency}
                         for emergency, ratio, guidance in itertools.product(GRID, RATIOS, GRID)],
                        readings)
    if best is None:
        raise SystemExit(f"no thresholds keep {EMERGENCY_TARGET:.0%} of tuning emergencies within "
                         f"{FALSE_ALARMS_AT_MOST:.0%} false alarms: the model needs better data or features")
    return best_on_grid([{**best, "emergency_pattern": pattern} for pattern in GRID if pattern >= best["emergency"]],
                        readings)


def best_on_grid(candidates: list[dict], readings: Readings) -> dict | None:
    """The candidate that keeps the emergency and false-alarm targets with the best safeguarding
    and crime-report recall (the lower of the two), or None."""
    best = None
    for candidate in candidates:
        figures = cross_validated(candidate, readings)
        if figures["emergency_recall"] < EMERGENCY_TARGET or figures["false_alarm_rate"] > FALSE_ALARMS_AT_MOST:
            continue
        rank = (min(figures["safeguarding_recall"], figures["report_crime_recall"]), figures["emergency_recall"])
        if best is None or rank > best[0]:
            best = (rank, candidate)
    return best and best[1]


def main() -> None:
    examples = load_examples(TUNING)
    texts, labels = [e.text for e in examples], [e.label for e in examples]
    encoder = shared_encoder()
    fast_whole = fast_features(texts)
    full_whole = np.hstack([encoder.queries(texts), fast_whole])   # trained on whole messages, read in windows
    fast_parts = [fast_features(windows(t)) for t in texts]
    full_parts = [np.hstack([encoder.queries(windows(t)), f]) for t, f in zip(texts, fast_parts)]
    y = np.asarray([CLASSES.index(label) for label in labels])
    cues = [find_cues(t) for t in texts]
    fast_oof, full_oof = out_of_fold(fast_whole, fast_parts, y), out_of_fold(full_whole, full_parts, y)
    readings = Readings(full_oof, fast_oof, labels, cues)
    thresholds = choose_thresholds(readings, labels)
    figures = cross_validated(thresholds, readings)
    model = {"engine": NAME, "encoder": encoder.name, "ngram_width": WIDTH, "classes": CLASSES,
             "trained_on": f"{TUNING.name} ({len(examples)} messages)", "thresholds": thresholds,
             "cross_validated": {name: round(value, 3) for name, value in figures.items()}}
    for name, whole in (("fast", fast_whole), ("full", full_whole)):
        weights, bias = fit(whole, y)
        model[name] = {"bias": bias.round(6).tolist(), "weights": weights.round(5).tolist()}
    MODEL_FILE.write_text(json.dumps(model, separators=(",", ":")) + "\n")
    print(f"wrote {MODEL_FILE.name}: thresholds {thresholds}; {FOLDS}-fold on tuning: {model['cross_validated']}")


def cross_validated(thresholds: dict, readings: Readings) -> dict:
    decided, labels = readings.decided(thresholds), readings.labels
    figures = {f"{label}_recall": float((decided[labels == i] == i).mean()) for i, label in enumerate(CLASSES[:3])}
    figures["false_alarm_rate"] = float((decided[labels == CLASSES.index("none")] != CLASSES.index("none")).mean())
    figures["settled_fast"] = float((readings.settled(thresholds["settled"]) >= 0).mean())
    return figures

if __name__ == "__main__":
    main()
