"""The speech-to-text engine behind a small interface, so a larger model or a hosted service can
replace it: anything with `name` and `transcribe(samples, sample_rate) -> list[Cue]`.

The default is Moonshine (PyPI `moonshine-voice==0.1.0`, pinned: that release ships the English
tiny model inside the wheel, so nothing is downloaded at run time; later releases fetch models).
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Protocol, Sequence

from services.media.webvtt import Cue

MAX_CUE_CHARS = 84          # two short caption lines
SAMPLE_RATE = 16000


class CaptionEngine(Protocol):
    name: str

    def transcribe(self, samples: Sequence[float], sample_rate: int) -> list[Cue]:
        """Timed text for mono PCM samples in [-1, 1]."""


def bundled_model_path() -> Path:
    from moonshine_voice import get_model_path

    return Path(get_model_path("tiny-en"))


def split_long(cue: Cue, limit: int = MAX_CUE_CHARS) -> list[Cue]:
    """A long line becomes several cues, its time shared out by length of text."""
    if len(cue.text) <= limit:
        return [cue]
    chunks, current = [], ""
    for word in cue.text.split():
        if current and len(current) + 1 + len(word) > limit:
            chunks.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    if current:
        chunks.append(current)
    total = sum(len(c) for c in chunks)
    span = cue.end - cue.start
    out, start = [], cue.start
    for chunk in chunks:
        end = start + span * len(chunk) / total
        out.append(Cue(start, end, chunk))
        start = end
    return out


class MoonshineEngine:
    name = "moonshine-tiny-en"
    _lock = threading.Lock()
    _transcriber = None

    def _load(self):
        with MoonshineEngine._lock:
            if MoonshineEngine._transcriber is None:
                from moonshine_voice import ModelArch, Transcriber

                MoonshineEngine._transcriber = Transcriber(str(bundled_model_path()), ModelArch.TINY)
        return MoonshineEngine._transcriber

    def transcribe(self, samples: Sequence[float], sample_rate: int) -> list[Cue]:
        transcriber = self._load()
        data = samples.tolist() if hasattr(samples, "tolist") else list(samples)
        with MoonshineEngine._lock:  # one native handle per process
            result = transcriber.transcribe_without_streaming(data, sample_rate)
        cues: list[Cue] = []
        for line in result.lines:
            text = " ".join(line.text.split())
            if text:
                cues.extend(split_long(Cue(float(line.start_time), float(line.start_time + line.duration), text)))
        return cues


ENGINES = {"moonshine": MoonshineEngine}


def get_engine() -> CaptionEngine:
    name = os.environ.get("CAPTION_ENGINE", "moonshine")
    if name not in ENGINES:
        raise RuntimeError(f"CAPTION_ENGINE must be one of {', '.join(ENGINES)}, not {name!r}")
    return ENGINES[name]()
