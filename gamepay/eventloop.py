"""``run``: run a coroutine on the fastest event loop installed (uvloop, else asyncio's own).

gamepay itself works on any asyncio loop; the programs that own their loop (the CLI's ``serve``,
the example shop, the benchmarks) start it through ``run``. uvloop comes with the ``fast`` extra
(``pip install gamepay[fast]``; not on Windows). ``GAMEPAY_LOOP=asyncio`` forces the standard
loop, for comparison or when uvloop misbehaves. ``stop_tasks`` is how a service stops its
background tasks: cancel them all, then wait for each.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["loop_name", "run", "stop_tasks"]

T = TypeVar("T")


def loop_name() -> str:
    """``"uvloop"`` when installed and not turned off by ``GAMEPAY_LOOP``; else ``"asyncio"``."""
    if os.environ.get("GAMEPAY_LOOP", "").strip().lower() == "asyncio":
        return "asyncio"
    try:
        importlib.import_module("uvloop")
    except ImportError:
        return "asyncio"
    return "uvloop"


def run(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coro)`` on the loop ``loop_name()`` names."""
    if loop_name() == "uvloop":
        uvloop = importlib.import_module("uvloop")
        result: T = uvloop.run(coro)
        return result
    return asyncio.run(coro)


async def stop_tasks(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel ``tasks``, wait for each to end, and empty the list."""
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    tasks.clear()
