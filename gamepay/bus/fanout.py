"""What every bus shares: its subscribers and its reconnect handlers.

``Fanout`` holds the handlers a bus delivers to (``subscribe`` returns the handle that removes
one; ``wants`` asks their player filters) and the handlers it calls after a reconnect.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from gamepay.bus.base import EventHandler, PlayerFilter, deliver
from gamepay.core.events import Event

__all__ = ["Fanout", "ReconnectHandler"]

ReconnectHandler = Callable[[], Awaitable[None]]
"""Called after a bus came back from a drop (events may have been missed meanwhile)."""


_Subscriber = tuple[EventHandler, PlayerFilter | None]


class _Handle:
    """Subscription handle: removes its subscriber from the fan-out."""

    def __init__(self, subscribers: list[_Subscriber], subscriber: _Subscriber) -> None:
        self._subscribers = subscribers
        self._subscriber = subscriber

    def close(self) -> None:
        """Remove the subscriber (idempotent)."""
        if self._subscriber in self._subscribers:
            self._subscribers.remove(self._subscriber)


class Fanout:
    """A bus's subscribers and reconnect handlers, and the delivery to them; a failing
    reconnect handler is logged on ``log`` (the bus's logger)."""

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self._subscribers: list[_Subscriber] = []
        self._reconnect_handlers: list[ReconnectHandler] = []

    def subscribe(self, handler: EventHandler, *, players: PlayerFilter | None = None) -> _Handle:
        """Deliver every event from now on to ``handler``, until the handle is closed;
        ``players`` says which players' events it wants (``wants``), None: every player's."""
        subscriber = (handler, players)
        self._subscribers.append(subscriber)
        return _Handle(self._subscribers, subscriber)

    def clear(self) -> None:
        """Drop every subscriber."""
        self._subscribers.clear()

    def wants(self, player_id: str) -> bool:
        """Whether any subscriber wants ``player_id``'s events now."""
        return any(players is None or players(player_id) for _h, players in self._subscribers)

    async def deliver(self, event: Event) -> None:
        """Call each current subscriber with ``event``; a failing one is logged."""
        await deliver([handler for handler, _players in self._subscribers], event)

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
