"""Character n-grams of a message, hashed into a fixed-width vector: the cheap half of the
screening's features. They read typos, text-speak and Welsh mutations ("gyllell", "nhabledi") as
near the words they spell, which the sentence encoder reads less well, and they cost well under a
millisecond, so the screen can settle clear messages without the encoder (`embedding.py`).

crc32 rather than `hash()`: Python's string hash changes between processes, the model file must not.
"""
from __future__ import annotations

import re
import zlib

import numpy as np

WIDTH = 2 ** 13
SHORTEST, LONGEST = 2, 5
_SPACES = re.compile(r"\s+")


def ngram_vector(text: str) -> np.ndarray:
    """Log-counted, L2-normalised hashed character 2- to 5-grams of the lower-cased text."""
    padded = " " + _SPACES.sub(" ", text.lower()).strip() + " "
    encoded = padded.encode("utf-8")
    counts: dict[int, int] = {}
    for size in range(SHORTEST, LONGEST + 1):
        for start in range(len(encoded) - size + 1):
            slot = zlib.crc32(encoded[start:start + size]) % WIDTH
            counts[slot] = counts.get(slot, 0) + 1
    vector = np.zeros(WIDTH, dtype=np.float32)
    if counts:
        slots = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        vector[slots] = 1 + np.log(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))
        vector /= np.linalg.norm(vector)
    return vector
