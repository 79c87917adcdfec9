"""Where withdrawals write their events: the shared ``gp_events`` outbox (switch point).

The outbox belongs to the payments area (``gamepay.services.events``). Until it is in main this
module holds a stand-in with the same signatures that does not persist; once it lands, this
module only re-exports it, and the withdrawals service never needs to change.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.core.events import Event, EventPublisher, EventType

__all__ = ["EventDraft", "publish_quietly", "record_events"]

log = logging.getLogger("gamepay.services.withdrawals")

_ids = itertools.count(1)


@dataclass(frozen=True, slots=True)
class EventDraft:
    """An event not yet written: who it is for, what happened, the JSON-ready payload."""

    player_id: str
    type: EventType
    payload: dict[str, Any] = field(default_factory=dict)


async def record_events(
    conn: AsyncConnection, drafts: Sequence[EventDraft], now: datetime
) -> list[Event]:
    """Stand-in: return the drafts as events with ids (not persisted until the outbox lands)."""
    del conn
    return [Event(next(_ids), d.player_id, d.type, dict(d.payload), now) for d in drafts]


async def publish_quietly(publisher: EventPublisher | None, events: Sequence[Event]) -> None:
    """Hand committed events to ``publisher``; log and swallow its failures."""
    if publisher is None or not events:
        return
    try:
        await publisher.publish(list(events))
    except Exception:
        log.exception("publishing %d withdrawal event(s) failed", len(events))
