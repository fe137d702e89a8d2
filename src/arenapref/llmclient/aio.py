"""Run a coroutine from synchronous code, also where an event loop is already running (Jupyter, Kaggle).

``asyncio.run`` refuses to start inside a running loop, which is exactly where notebook users call
``judge_battles``. There the coroutine runs to completion on a fresh loop in one worker thread, and the
caller blocks until it is done, as a synchronous call should; code that can ``await`` should use the
awaitable versions (``ajudge_battles``, ``awrite_titles``, ``aregenerate``) instead and not block the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_sync(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run the coroutine ``make()`` and return its result, whether or not a loop is running here."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="arenapref-loop") as pool:
        return pool.submit(lambda: asyncio.run(make())).result()
