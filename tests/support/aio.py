"""Run a coroutine to completion from synchronous test code.

The browser tests keep Playwright's sync API alive for the whole session, and it leaves an event
loop running in the main thread, where `asyncio.run` refuses to start. A thread of its own always
has a free loop; it runs in a copy of the caller's context, so the Flask app context comes along."""
from __future__ import annotations

import asyncio
import contextvars
from concurrent.futures import ThreadPoolExecutor


def run(coro):
    context = contextvars.copy_context()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(context.run, asyncio.run, coro).result()
