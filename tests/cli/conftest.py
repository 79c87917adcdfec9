"""CLI tests: the root command configures logging; put the loggers back after each test."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

_LOGGERS = ("gamepay", "gamepay_ws", "uvicorn", "uvicorn.error")


@pytest.fixture(autouse=True)
def _restore_loggers() -> Iterator[None]:
    """Whatever a command installs on the gamepay/uvicorn loggers is undone afterwards."""
    saved = {}
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        saved[name] = (list(logger.handlers), logger.level, logger.propagate)
    yield
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


class ThreadedSandbox:
    """A sandbox served over HTTP from its own event loop in a thread, for synchronous tests
    that drive the CLI (whose commands run their own ``asyncio.run``) against it."""

    def __init__(self) -> None:
        import asyncio
        import threading

        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self.running: Any = None
        self._thread = threading.Thread(target=self._main, name="threaded-sandbox", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("sandbox did not start")

    def _main(self) -> None:
        import asyncio

        from gamepay.testing import running_sandbox

        async def serve() -> None:
            self._stop = asyncio.Event()
            async with running_sandbox() as running:
                self.running = running
                self._ready.set()
                await self._stop.wait()

        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(serve())
        self.loop.close()

    def call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run ``fn(*args, **kwargs)`` on the sandbox's loop (its state is not thread-safe)."""
        import asyncio

        async def go() -> Any:
            return fn(*args, **kwargs)

        return asyncio.run_coroutine_threadsafe(go(), self.loop).result(10)

    def close(self) -> None:
        """Stop the server and join the thread."""
        assert self._stop is not None
        self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


@pytest.fixture
def threaded_sandbox() -> Iterator[ThreadedSandbox]:
    """A sandbox on a free port, served from a background thread; stopped after the test."""
    sandbox = ThreadedSandbox()
    try:
        yield sandbox
    finally:
        sandbox.close()
