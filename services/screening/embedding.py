"""The `embedding-v2` screening engine, in two readings of the same message:

1. **fast**: hashed character n-grams (`ngrams.py`) plus the cue vector (`rules.py`), well under
   a millisecond. When it is sure (one class at or above the `settled` threshold, every other at
   or below its complement) and no rule forces an emergency, its class is the verdict.
2. **full**: the same features plus multilingual-e5-small sentence embeddings (`services.lib.encoder`),
   about a millisecond per token. Every message the fast reading is not sure of is read this way,
   and its emergency and guidance thresholds decide.

Both are softmax regressions trained on tests/data/screening/tuning.jsonl only
(`python -m services.screening.train`); their thresholds come from out-of-fold readings of it.
A long message is read in overlapping windows, so an emergency in the middle of a rambling
message is not averaged away: each danger class takes its highest reading, `none` its lowest.
Windows also bound the cost: at most MAX_WINDOWS short reads whatever the message's length.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from services.lib.encoder import EncoderUnavailable, shared_encoder
from services.screening.language import detect_language
from services.screening.ngrams import ngram_vector
from services.screening.rules import CueHits, find_cues
from services.screening.safety import ScreeningModelError, Verdict

NAME = "embedding-v2"
MODEL_FILE = Path(__file__).resolve().parent / "models" / f"{NAME}.json"
CLASSES = ("emergency", "safeguarding", "report_crime", "none")
DANGER = CLASSES[:3]
WINDOW_WORDS, WINDOW_STEP, WINDOW_CHARS, MAX_WINDOWS = 24, 20, 240, 9   # 9 windows: a 1,000-character question


def windows(text: str) -> list[str]:
    """The text in overlapping windows of words (one window when it is short)."""
    words = text.split()
    starts = range(0, max(len(words) - WINDOW_WORDS, 0) + WINDOW_STEP, WINDOW_STEP)
    return [" ".join(words[start:start + WINDOW_WORDS])[:WINDOW_CHARS] for start in starts][:MAX_WINDOWS]


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def reading(probabilities: np.ndarray) -> dict[str, float]:
    """Per-window class probabilities -> one reading: the worst window for each danger class."""
    result = {name: float(probabilities[:, i].max()) for i, name in enumerate(DANGER)}
    result["none"] = float(probabilities[:, CLASSES.index("none")].min())
    return result


def settled_class(scores: dict[str, float], threshold: float) -> str | None:
    """The class a reading is sure of, or None."""
    top = max(scores, key=scores.get)
    if scores[top] >= threshold and all(v <= 1 - threshold for k, v in scores.items() if k != top):
        return top
    return None


def decide(scores: dict[str, float], cues: CueHits, thresholds: dict[str, float]) -> tuple[str, float]:
    """The full reading's verdict: an emergency when the rules force one, or when its reading is
    above the emergency threshold (a higher one when the message tells of a pattern rather than of
    now) and not far below the other dangers' (within `emergency_ratio`); else guidance when any
    danger is above the guidance threshold."""
    if cues.forces_emergency:
        return "emergency", 1.0
    rival = max(scores["safeguarding"], scores["report_crime"])
    emergency = thresholds["emergency_pattern" if cues.tells_of_a_pattern else "emergency"]
    if scores["emergency"] >= emergency and scores["emergency"] >= thresholds["emergency_ratio"] * rival:
        return "emergency", scores["emergency"]
    if 1 - scores["none"] >= thresholds["guidance"]:
        category = max(("safeguarding", "report_crime"), key=scores.get)
        return category, 1 - scores["none"]
    return "none", scores["none"]


def fast_features(texts: list[str]) -> np.ndarray:
    return np.hstack([np.stack([ngram_vector(text) for text in texts]),
                      np.asarray([find_cues(text).vector() for text in texts], dtype=np.float32)])


class EmbeddingScreen:
    name = NAME

    def __init__(self, model_file: Path = MODEL_FILE):
        try:
            model = json.loads(model_file.read_text())
            self._encoder = shared_encoder()
        except EncoderUnavailable as exc:   # any failure to load is a start-up failure, never "no screening"
            raise self._cannot_load(str(exc)) from None
        except Exception as exc:
            raise self._cannot_load(f"{exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else 'no detail'}") from None
        self.fast = tuple(np.asarray(model["fast"][key], dtype=np.float32) for key in ("weights", "bias"))
        self.full = tuple(np.asarray(model["full"][key], dtype=np.float32) for key in ("weights", "bias"))
        self.thresholds = model["thresholds"]

    @staticmethod
    def _cannot_load(detail: str) -> ScreeningModelError:
        return ScreeningModelError(f"SCREENING_MODEL={NAME} cannot load ({detail}); "
                                   "reinstall the package (pip install -e .) or choose another engine")

    def full_features(self, texts: list[str], fast: np.ndarray) -> np.ndarray:
        return np.hstack([self._encoder.queries(texts), fast])

    def classify(self, text: str, lang: str | None = None) -> Verdict:
        language = detect_language(text, lang or "en")
        if not any(ch.isalnum() for ch in text):   # empty, or only emoji and punctuation
            return Verdict("none", 1.0, language)
        cues = find_cues(text)
        parts = windows(text)
        fast = fast_features(parts)
        scores = reading(softmax(fast @ self.fast[0] + self.fast[1]))
        settled = None if cues.forces_emergency else settled_class(scores, self.thresholds["settled"])
        if settled:
            category, confidence = settled, scores[settled]
        else:
            scores = reading(softmax(self.full_features(parts, fast) @ self.full[0] + self.full[1]))
            category, confidence = decide(scores, cues, self.thresholds)
        return Verdict(category, round(confidence, 3), language, cues.signals(category), scores)
