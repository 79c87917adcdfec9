"""Run the demo shop on its own event loop in a thread, for synchronous tests (hypothesis)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from examples.shop.server import Shop, running_shop

__all__ = ["ThreadedShop", "shop_in_thread"]

T = TypeVar("T")


class ThreadedShop:
    """A shop running in another thread, and a way to run coroutines on its loop."""

    def __init__(self, shop: Shop, loop: asyncio.AbstractEventLoop) -> None:
        self.shop = shop
        self.loop = loop

    def call(self, coro: Coroutine[Any, Any, T], within: float = 30.0) -> T:
        """Run ``coro`` on the shop's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(within)


@contextmanager
def shop_in_thread(**options: Any) -> Iterator[ThreadedShop]:
    """Start ``running_shop(**options)`` in a thread; stop it and join the thread on exit."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    found: dict[str, Any] = {}

    async def main() -> None:
        stop = asyncio.Event()
        found["stop"] = stop
        try:
            async with running_shop(**options) as shop:
                found["shop"] = shop
                ready.set()
                await stop.wait()
        except BaseException as exc:
            found["error"] = exc
            ready.set()
            raise

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(main())
        except BaseException:  # reported through found["error"]
            pass
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    thread = threading.Thread(target=run, name="shop", daemon=True)
    thread.start()
    try:
        assert ready.wait(60), "the shop did not start"
        if "error" in found:
            raise found["error"]
        yield ThreadedShop(found["shop"], loop)
    finally:
        if "stop" in found and not loop.is_closed():
            loop.call_soon_threadsafe(found["stop"].set)
        thread.join(60)
        assert not thread.is_alive(), "the shop thread did not stop"
