"""Getting 16 kHz mono samples out of an uploaded file: ffmpeg when it is installed (any audio or
video it can read), otherwise PCM WAV only, read with the standard library."""
from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000
TIMEOUT = 600


class AudioError(Exception):
    """The file could not be read as audio; the message is for staff."""


def ffmpeg_available() -> bool:
    return shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None


def probe_duration(path: Path) -> float:
    """Seconds of audio in the file; AudioError if it is not audio/video we can read."""
    if ffmpeg_available():
        result = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
                                 "stream=codec_type:format=duration", "-of", "default=nw=1", str(path)],
                                capture_output=True, text=True, timeout=60)
        fields = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
        if result.returncode != 0 or fields.get("codec_type") != "audio":
            raise AudioError("We could not find any sound in this file. Upload an audio or video recording.")
        try:
            return float(fields.get("duration", "nan"))
        except ValueError:
            raise AudioError("This recording is damaged: its length cannot be read.") from None
    try:
        with wave.open(str(path), "rb") as w:
            if w.getsampwidth() != 2 or w.getcomptype() != "NONE":
                raise AudioError("Only 16-bit PCM WAV files can be processed on this server (ffmpeg is not installed).")
            if w.getnframes() == 0:
                raise AudioError("This WAV file has no sound in it.")
            return w.getnframes() / w.getframerate()
    except (wave.Error, EOFError):
        raise AudioError("This WAV file is damaged or in an unsupported format.") from None


def load_samples(path: Path) -> np.ndarray:
    """Mono float32 samples at 16 kHz."""
    if ffmpeg_available():
        result = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-vn", "-ac", "1",
                                 "-ar", str(SAMPLE_RATE), "-f", "f32le", "-"], capture_output=True, timeout=TIMEOUT)
        if result.returncode != 0:
            raise AudioError("The sound in this file could not be decoded.")
        return np.frombuffer(result.stdout, dtype="<f4").astype(np.float32)
    with wave.open(str(path), "rb") as w:
        channels, rate = w.getnchannels(), w.getframerate()
        raw = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
    samples = raw.reshape(-1, channels).mean(axis=1) if channels > 1 else raw
    if rate != SAMPLE_RATE:  # linear resampling is enough for speech recognition
        positions = np.arange(0, len(samples), rate / SAMPLE_RATE)
        samples = np.interp(positions, np.arange(len(samples)), samples).astype(np.float32)
    return samples
