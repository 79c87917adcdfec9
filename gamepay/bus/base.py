"""The bus contract: publish committed events, subscribe a handler, unsubscribe."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from gamepay.core.events import Event

__all__ = ["EventBus", "EventHandler", "EventSource", "PlayerFilter", "Subscription", "deliver"]

logger = logging.getLogger("gamepay.bus")

EventHandler = Callable[[Event], Awaitable[None]]
"""A subscriber: called once per delivered event; its exceptions are logged, never propagated."""

PlayerFilter = Callable[[str], bool]
"""Whether a subscriber wants a player's events right now (e.g. the player is connected here):
a bus that must fetch events of other replicas (PostgreSQL) skips players nobody here wants."""


class Subscription(Protocol):
    """A handle on one subscription."""

    def close(self) -> None:
        """Stop delivering to this subscriber (idempotent)."""
        ...


class EventBus(Protocol):
    """Publish committed events and subscribe to everything published (on any replica)."""

    async def publish(self, events: Sequence[Event]) -> None:
        """Deliver events that are already committed; never raises for absent listeners."""
        ...

    def subscribe(
        self, handler: EventHandler, *, players: PlayerFilter | None = None
    ) -> Subscription:
        """Call ``handler`` for every event published from now on, until the handle is closed;
        with ``players``, events of other replicas for players it refuses may be left out."""
        ...


class EventSource(Protocol):
    """Where persisted events are read back (the services' events outbox)."""

    async def events_after(self, player_id: str, last_id: int, limit: int) -> Sequence[Event]:
        """Return up to ``limit`` of the player's events with ``id > last_id``, oldest first."""
        ...


async def deliver(handlers: Sequence[EventHandler], event: Event) -> None:
    """Call each handler in turn; a failing handler is logged and does not stop the others."""
    for handler in handlers:
        try:
            await handler(event)
        except Exception:
            logger.exception("event handler failed for event %s", event.id)
