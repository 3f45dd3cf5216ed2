"""Retiring a dead process's Prometheus files (multiprocess mode, PROMETHEUS_MULTIPROC_DIR).

prometheus-client keeps each process's values in files named `<type>_<pid>.db`; its own
`mark_process_dead` removes only the live gauges, because a counter's or histogram's totals must
survive the process. So every recycled worker left two files behind, and the folder (and each
scrape's work) grew without end. `retire_process` folds the dead process's counter and histogram
values into one `<type>_archive.db` per type (summed key by key, which is what a scrape does
anyway) and deletes its files, so the folder holds one file per type per live process, plus the
archives.

Folding holds an exclusive lock (gunicorn's master retires one worker at a time, but Celery's
children retire themselves and may exit together). The archive is written before the dead file is
removed: a scrape landing in those few milliseconds counts the dead values twice, once; removing
first would instead undercount. A scrape that globbed the dead file just before it went is told
to try again (`collect_without_retired`).
"""
from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager

from prometheus_client import multiprocess
from prometheus_client.mmap_dict import MmapedDict

ARCHIVED_TYPES = ("counter", "histogram")
ARCHIVE_PID = "archive"


def clear_folder(folder: str | None) -> None:
    """Values of a previous run must not be summed in: empty the folder when the parent starts."""
    if folder and os.path.isdir(folder):
        for name in os.listdir(folder):
            if name.endswith(".db"):
                os.remove(os.path.join(folder, name))


def retire_process(pid: int | str, folder: str) -> int:
    """Fold process `pid`'s files in `folder` into the archives; returns the files removed."""
    multiprocess.mark_process_dead(pid, folder)
    removed = 0
    with _locked(folder):
        for kind in ARCHIVED_TYPES:
            dead = os.path.join(folder, f"{kind}_{pid}.db")
            if os.path.exists(dead):
                _fold(dead, os.path.join(folder, f"{kind}_{ARCHIVE_PID}.db"))
                os.remove(dead)
                removed += 1
    return removed


def _fold(dead: str, archive_path: str) -> None:
    archive = MmapedDict(archive_path)
    try:
        for key, value, timestamp, _pos in MmapedDict.read_all_values_from_file(dead):
            before, _ = archive.read_value(key)
            archive.write_value(key, before + value, timestamp)
    finally:
        archive.close()


@contextmanager
def _locked(folder: str):
    with open(os.path.join(folder, ".retire.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def collect_without_retired(generate, attempts: int = 3) -> bytes:
    """`generate()` again if a file vanished between the collector's glob and its read."""
    for _ in range(attempts - 1):
        try:
            return generate()
        except FileNotFoundError:
            continue
    return generate()
