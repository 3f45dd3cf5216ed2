"""Run a coroutine to completion from synchronous test code.

The browser tests keep Playwright's sync API alive for the whole session, and it leaves an event
loop running in the main thread, where `asyncio.run` refuses to start. A thread of its own always
has a free loop."""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor


def run(coro):
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
