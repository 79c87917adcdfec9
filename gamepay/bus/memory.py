"""An in-process event bus: publish hands events straight to this process's subscribers."""

from __future__ import annotations

from collections.abc import Sequence

from gamepay.bus.base import EventHandler, deliver
from gamepay.core.events import Event

__all__ = ["InProcessBus"]


class _Handle:
    """Subscription handle of the in-process bus."""

    def __init__(self, bus: InProcessBus, handler: EventHandler) -> None:
        self._bus = bus
        self._handler = handler

    def close(self) -> None:
        """Remove the handler (idempotent)."""
        self._bus._remove(self._handler)


class InProcessBus:
    """Fan events out to subscribers of this process only (SQLite, one game server, tests)."""

    def __init__(self) -> None:
        self._handlers: list[EventHandler] = []

    async def publish(self, events: Sequence[Event]) -> None:
        """Deliver each committed event to every current subscriber, in order."""
        for event in events:
            await deliver(list(self._handlers), event)

    def subscribe(self, handler: EventHandler) -> _Handle:
        """Register ``handler`` for every event published from now on."""
        self._handlers.append(handler)
        return _Handle(self, handler)

    def _remove(self, handler: EventHandler) -> None:
        if handler in self._handlers:
            self._handlers.remove(handler)

    async def start(self) -> None:
        """Nothing to start (present so both buses are used the same way)."""

    async def close(self) -> None:
        """Drop every subscriber."""
        self._handlers.clear()
