"""The process's screening engine: chosen once at start-up (`use`), then `classify` per message.

The embedding engine spends tens of milliseconds of CPU per message; under gevent that runs in
the process's one native encoder thread (`services.lib.encoder.off_the_loop`, shared with
moderator assist), so sockets keep being served meanwhile.
"""
from __future__ import annotations

from typing import Callable

from services.lib.encoder import off_the_loop
from services.screening.safety import PhraseScreen, SafetyScreen, ScreeningModelError, Verdict


def _embedding_screen() -> SafetyScreen:
    from services.screening.embedding import EmbeddingScreen   # loads the model: only when chosen

    return EmbeddingScreen()


ENGINES: dict[str, Callable[[], SafetyScreen]] = {"phrases-v0": PhraseScreen, "embedding-v2": _embedding_screen}


def load_screen(name: str) -> SafetyScreen:
    if name not in ENGINES:
        raise ScreeningModelError(f"SCREENING_MODEL={name!r} is not a known screening engine; "
                                  f"choose one of: {', '.join(sorted(ENGINES))}")
    return ENGINES[name]()

_engines: dict[str, SafetyScreen] = {}
_current: list[SafetyScreen] = []


def use(name: str) -> SafetyScreen:
    """Load (once per process) and select the engine; raises ScreeningModelError with one line."""
    if name not in _engines:
        _engines[name] = load_screen(name)
    _current[:] = [_engines[name]]
    return _engines[name]


def classify(text: str, lang: str | None = None) -> Verdict:
    if not _current:
        raise RuntimeError("no screening engine selected: the process must call engine.use() at start-up")
    return off_the_loop(_current[0].classify, text, lang)
