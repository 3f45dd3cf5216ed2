"""A spoken session for live captions: the three clips of docs/captions.md (espeak-ng + sox), one
after another with pauses, as one 16 kHz mono 16-bit WAV."""
from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from services.media.audio import SAMPLE_RATE, load_samples
from workers.captions import measure

PAUSE_SECONDS = 1.5


def spoken_session(folder: Path, texts=measure.CLIPS, lead: float = 1.0, tail: float = 2.0) -> tuple[Path, list[tuple[float, float]]]:
    """The WAV and, for each clip, (when it starts, when its speech ends) in seconds."""
    parts, spans, at = [np.zeros(int(lead * SAMPLE_RATE), dtype=np.float32)], [], lead
    for n, text in enumerate(texts, start=1):
        samples = load_samples(measure.speak(text, folder / f"live-clip{n}.wav")).astype(np.float32)
        parts.append(samples)
        spans.append((at, at + len(samples) / SAMPLE_RATE))
        at += len(samples) / SAMPLE_RATE + PAUSE_SECONDS
        parts.append(np.zeros(int(PAUSE_SECONDS * SAMPLE_RATE), dtype=np.float32))
    parts.append(np.zeros(int(tail * SAMPLE_RATE), dtype=np.float32))
    pcm = (np.clip(np.concatenate(parts), -1, 1) * 32767).astype("<i2")
    path = folder / "live-session.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm.tobytes())
    return path, spans


def pcm_of(path: Path) -> bytes:
    with wave.open(str(path), "rb") as f:
        return f.readframes(f.getnframes())
