"""An in-process event bus: publish hands events straight to this process's subscribers."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from gamepay.bus.base import EventHandler, PlayerFilter, Subscription
from gamepay.bus.fanout import Fanout
from gamepay.core.events import Event

__all__ = ["InProcessBus"]

logger = logging.getLogger("gamepay.bus")


class InProcessBus:
    """Fan events out to subscribers of this process only (SQLite, one game server, tests)."""

    def __init__(self) -> None:
        self._fanout = Fanout(logger)

    async def publish(self, events: Sequence[Event]) -> None:
        """Deliver each committed event to every current subscriber, in order."""
        for event in events:
            await self._fanout.deliver(event)

    def subscribe(
        self, handler: EventHandler, *, players: PlayerFilter | None = None
    ) -> Subscription:
        """Register ``handler`` for every event published from now on."""
        return self._fanout.subscribe(handler, players=players)

    async def start(self) -> None:
        """Nothing to start (present so both buses are used the same way)."""

    async def close(self) -> None:
        """Drop every subscriber."""
        self._fanout.clear()
