"""Voice-activity segmentation of a live audio stream: energy per 20 ms frame, a phrase ends after
500 ms below the threshold (or is cut at its quietest frame after 10 s).

Deterministic from where it starts: a restarted worker that starts again at the checkpoint (the
end of the last final line) finds the same phrases, so their ids (their first sample) repeat and
the database refuses the second copy. The threshold is fixed (not learnt from earlier audio) for
the same reason. Moonshine's own streaming VAD keeps its state inside the native library, where
it cannot be checkpointed: see docs/captions.md.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16000
FRAME = 320                      # 20 ms
SILENCE_FRAMES = 25              # 500 ms of quiet ends a phrase
PRE_ROLL_FRAMES = 10             # 200 ms kept before the first loud frame
TAIL_FRAMES = 10                 # 200 ms kept after the last one
MAX_FRAMES = 500                 # 10 s: a phrase longer than this is cut
PARTIAL_EVERY = SAMPLE_RATE      # a partial line after each further second of speech
MIN_SPEECH_FRAMES = 8            # 160 ms: shorter bursts (a cough, a click) are not phrases


def threshold() -> float:
    try:
        return float(os.environ.get("CAPTIONS_VAD_THRESHOLD", "") or 0.01)
    except ValueError:
        return 0.01


@dataclass(frozen=True)
class Piece:
    kind: str          # "partial" | "final"
    start: int         # first sample (absolute): the segment id
    end: int           # one past the last sample
    samples: np.ndarray


class Segmenter:
    def __init__(self, start: int = 0, level: float | None = None):
        self.origin = start                    # absolute sample of buffer[0]; frame aligned from the checkpoint
        self.buffer = np.zeros(0, dtype=np.float32)
        self.scanned = 0                        # frames of the buffer already looked at
        self.level = threshold() if level is None else level
        self.speech_from: int | None = None     # frame index (in the buffer) where the phrase starts
        self.loud = 0                           # loud frames in the phrase
        self.quiet = 0                          # quiet frames in a row
        self.last_loud = 0
        self.partial_at = 0

    @property
    def checkpoint(self) -> int:
        """The first sample not yet in a final line (where a restarted worker starts)."""
        return self.origin

    def feed(self, at: int, samples: np.ndarray) -> list[Piece]:
        """Add samples starting at absolute sample `at` (earlier ones, seen before a restart, are skipped)."""
        end = self.origin + len(self.buffer)
        if at + len(samples) <= end:
            return []
        if at < end:
            samples = samples[end - at:]
        elif at > end:   # a gap (chunks lost to MAXLEN): silence keeps positions true
            samples = np.concatenate([np.zeros(at - end, dtype=np.float32), samples])
        self.buffer = np.concatenate([self.buffer, samples.astype(np.float32)])
        return self._scan()

    def flush(self) -> list[Piece]:
        """The speaker stopped: the open phrase is final now."""
        if self.speech_from is None:
            self._drop_to(len(self.buffer) // FRAME)
            return []
        return [self._final(self.last_loud + 1 + TAIL_FRAMES)]

    def _scan(self) -> list[Piece]:
        out: list[Piece] = []
        while self.scanned < len(self.buffer) // FRAME:
            i = self.scanned
            frame = self.buffer[i * FRAME:(i + 1) * FRAME]
            loud = float(np.sqrt(np.mean(frame * frame))) >= self.level
            self.scanned += 1
            if self.speech_from is None:
                if loud:
                    self.speech_from, self.loud, self.quiet, self.last_loud = max(0, i - PRE_ROLL_FRAMES), 1, 0, i
                    self.partial_at = self.speech_from
                elif i >= PRE_ROLL_FRAMES * 2:
                    self._drop_to(i - PRE_ROLL_FRAMES)   # old silence: nothing will need it
                continue
            if loud:
                self.loud, self.quiet, self.last_loud = self.loud + 1, 0, i
            else:
                self.quiet += 1
            if self.quiet >= SILENCE_FRAMES:
                if self.loud < MIN_SPEECH_FRAMES:
                    self.speech_from = None
                    self._drop_to(i - PRE_ROLL_FRAMES)
                    continue
                out.append(self._final(self.last_loud + 1 + TAIL_FRAMES))
                continue
            if i + 1 - self.speech_from >= MAX_FRAMES:
                out.append(self._final(self._quietest(i + 1)))
                continue
            if (i + 1 - self.partial_at) * FRAME >= PARTIAL_EVERY:
                self.partial_at = i + 1
                out.append(self._piece("partial", self.speech_from, i + 1))
        return out

    def _quietest(self, upto: int) -> int:
        """Where to cut a long phrase: the quietest frame of its last two seconds."""
        first = max(self.speech_from + 1, upto - 100)
        energies = [float(np.mean(self.buffer[j * FRAME:(j + 1) * FRAME] ** 2)) for j in range(first, upto)]
        return first + int(np.argmin(energies)) + 1

    def _piece(self, kind: str, first_frame: int, end_frame: int) -> Piece:
        samples = self.buffer[first_frame * FRAME:end_frame * FRAME]
        start = self.origin + first_frame * FRAME
        return Piece(kind, start, start + len(samples), samples)

    def _final(self, end_frame: int) -> Piece:
        end_frame = min(end_frame, self.scanned)
        piece = self._piece("final", self.speech_from, end_frame)
        self.speech_from = None
        self._drop_to(end_frame)
        self.scanned = 0   # look again from the cut, exactly as a worker restarted from this checkpoint would
        return piece

    def _drop_to(self, frame: int) -> None:
        if frame <= 0:
            return
        self.buffer = self.buffer[frame * FRAME:]
        self.origin += frame * FRAME
        self.scanned -= frame
        if self.speech_from is not None:
            self.speech_from -= frame
            self.last_loud -= frame
            self.partial_at -= frame
