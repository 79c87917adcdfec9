"""What every bus shares: its subscribers and its reconnect handlers.

``Fanout`` holds the handlers a bus delivers to (``subscribe`` returns the handle that removes
one) and the handlers it calls after a reconnect.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from gamepay.bus.base import EventHandler, deliver
from gamepay.core.events import Event

__all__ = ["Fanout", "ReconnectHandler"]

ReconnectHandler = Callable[[], Awaitable[None]]
"""Called after a bus came back from a drop (events may have been missed meanwhile)."""


class _Handle:
    """Subscription handle: removes its handler from the fan-out."""

    def __init__(self, handlers: list[EventHandler], handler: EventHandler) -> None:
        self._handlers = handlers
        self._handler = handler

    def close(self) -> None:
        """Remove the handler (idempotent)."""
        if self._handler in self._handlers:
            self._handlers.remove(self._handler)


class Fanout:
    """A bus's subscribers and reconnect handlers, and the delivery to them; a failing
    reconnect handler is logged on ``log`` (the bus's logger)."""

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self._handlers: list[EventHandler] = []
        self._reconnect_handlers: list[ReconnectHandler] = []

    def subscribe(self, handler: EventHandler) -> _Handle:
        """Deliver every event from now on to ``handler``, until the handle is closed."""
        self._handlers.append(handler)
        return _Handle(self._handlers, handler)

    def clear(self) -> None:
        """Drop every subscriber."""
        self._handlers.clear()

    async def deliver(self, event: Event) -> None:
        """Call each current subscriber with ``event``; a failing one is logged."""
        await deliver(list(self._handlers), event)

    def add_reconnect_handler(self, handler: ReconnectHandler) -> None:
        """Call ``handler`` after each reconnect."""
        self._reconnect_handlers.append(handler)

    async def reconnected(self) -> None:
        """Run every reconnect handler in turn; a failing one is logged."""
        for handler in list(self._reconnect_handlers):
            try:
                await handler()
            except Exception:
                self._log.exception("bus reconnect handler failed")
