"""Accuracy and speed of the captions engine on clips spoken by espeak-ng (Debian `espeak-ng`,
converted to 16 kHz with `sox`): word error rate and real-time factor.

    python -m workers.captions.measure        # prints a Markdown table (docs/captions.md)
"""
from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from services.media.audio import SAMPLE_RATE, load_samples
from workers.captions.engine import CaptionEngine, get_engine

CLIPS = (
    "The Police and Crime Commissioner will answer your questions about the policing budget tonight.",
    "This chat is not for reporting crime. In an emergency, call the police straight away.",
    "Neighbourhood officers will patrol the town centre on Friday and Saturday evenings this summer.",
)


@dataclass(frozen=True)
class Measured:
    text: str
    heard: str
    seconds_audio: float
    seconds_engine: float
    wer: float

    @property
    def rtf(self) -> float:
        return self.seconds_engine / self.seconds_audio


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split()


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / words in the reference (Levenshtein on words)."""
    ref, hyp = words(reference), words(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        current = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h))
        previous = current
    return previous[-1] / max(1, len(ref))


WORDS_PER_MINUTE = 140   # a measured public speaker; espeak-ng's default 175 is hurried


def speak(text: str, path: Path) -> Path:
    """A 16 kHz mono WAV of `text` spoken by espeak-ng (resampled by sox)."""
    raw = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-s", str(WORDS_PER_MINUTE), "-w", str(raw), text], check=True, timeout=60)
    subprocess.run(["sox", str(raw), "-r", str(SAMPLE_RATE), "-c", "1", str(path)], check=True, timeout=60)
    raw.unlink()
    return path


def measure(folder: Path, engine: CaptionEngine | None = None, texts=CLIPS) -> list[Measured]:
    engine = engine or get_engine()
    engine.transcribe([0.0] * SAMPLE_RATE, SAMPLE_RATE)  # loads the model: not part of the timing
    results = []
    for n, text in enumerate(texts, start=1):
        samples = load_samples(speak(text, folder / f"clip{n}.wav"))
        started = time.perf_counter()
        cues = engine.transcribe(samples, SAMPLE_RATE)
        elapsed = time.perf_counter() - started
        heard = " ".join(c.text for c in cues)
        results.append(Measured(text, heard, len(samples) / SAMPLE_RATE, elapsed, word_error_rate(text, heard)))
    return results


def table(results: list[Measured]) -> str:
    lines = ["| clip | audio (s) | engine (s) | real-time factor | word error rate | heard |",
             "| --- | --- | --- | --- | --- | --- |"]
    for n, r in enumerate(results, start=1):
        lines.append(f"| {n} | {r.seconds_audio:.2f} | {r.seconds_engine:.2f} | {r.rtf:.3f} | {r.wer:.1%} | {r.heard} |")
    total_words = sum(len(words(r.text)) for r in results)
    errors = sum(r.wer * len(words(r.text)) for r in results)
    audio = sum(r.seconds_audio for r in results)
    engine = sum(r.seconds_engine for r in results)
    lines.append(f"| all | {audio:.2f} | {engine:.2f} | {engine / audio:.3f} | {errors / total_words:.1%} | |")
    return "\n".join(lines)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        print(table(measure(Path(tmp))))
    sys.exit(0)
