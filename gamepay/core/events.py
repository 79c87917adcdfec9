"""Events the services emit for adapters to push to players, and the publisher contract.

Events that matter are persisted (an outbox row written in the same transaction as the change
they describe) and carry an increasing ``id``, so a reconnecting player can be replayed
everything after the last id it saw; a publisher then fans them out (in-process, or through
PostgreSQL LISTEN/NOTIFY between replicas).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

__all__ = ["Event", "EventPublisher", "EventType"]


class EventType(StrEnum):
    """What happened, as pushed to a game client."""

    ORDER_STATUS_CHANGED = "order_status_changed"
    ASSET_GRANTED = "asset_granted"
    BALANCE_CHANGED = "balance_changed"
    WITHDRAWAL_STATUS_CHANGED = "withdrawal_status_changed"
    TRADE_CHANGED = "trade_changed"
    SUBSCRIPTION_CHANGED = "subscription_changed"
    RENEWAL_OFFERED = "renewal_offered"


@dataclass(frozen=True, slots=True)
class Event:
    """One persisted event for one player; ``payload`` is JSON-ready (amounts as strings)."""

    id: int
    player_id: str
    type: EventType
    payload: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None


class EventPublisher(Protocol):
    """Something that fans committed events out to whoever is listening."""

    async def publish(self, events: Sequence[Event]) -> None:
        """Deliver events that are already committed; must not raise for absent listeners."""
        ...
