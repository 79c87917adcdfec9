"""The events outbox: events written in the same transaction as the change they describe.

``gp_events(id, player_id, type, payload, created_at)``: ``id`` increases, so a reconnecting
player is replayed everything after the last id it saw (``events_after``). The payments service
writes rows with ``record_events`` inside its transaction and hands the committed ``Event``
objects to its publisher after the commit; a publisher failure never undoes the change (the row is
there to replay).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.core.events import Event, EventPublisher, EventType
from gamepay.store.rows import RowInsert
from gamepay.store.schema.events import events_table

__all__ = [
    "EventDraft",
    "events_after",
    "publish_quietly",
    "record_events",
]

log = logging.getLogger("gamepay.bus.outbox")


@dataclass(frozen=True, slots=True)
class EventDraft:
    """An event not yet written: who it is for, what happened, the JSON-ready payload."""

    player_id: str
    type: EventType
    payload: dict[str, Any] = field(default_factory=dict)


_INSERT_EVENTS = RowInsert(
    events_table, ("player_id", "type", "payload", "created_at"), returning="id"
)


async def record_events(
    conn: AsyncConnection, drafts: Sequence[EventDraft], now: datetime
) -> list[Event]:
    """Write ``drafts`` to the outbox inside the caller's transaction (one statement); return
    them with their ids, in order."""
    rows = [
        {
            "player_id": draft.player_id,
            "type": str(draft.type),
            "payload": json.dumps(draft.payload, sort_keys=True, separators=(",", ":")),
            "created_at": now,
        }
        for draft in drafts
    ]
    ids = await _INSERT_EVENTS.insert_returning(conn, rows)
    return [
        Event(int(event_id), draft.player_id, draft.type, dict(draft.payload), now)
        for event_id, draft in zip(ids, drafts, strict=True)
    ]


async def events_after(
    conn: AsyncConnection, player_id: str, last_id: int, limit: int = 100
) -> list[Event]:
    """A player's events with ``id > last_id``, oldest first, at most ``limit``."""
    rows = await conn.execute(
        select(events_table)
        .where(events_table.c.player_id == player_id, events_table.c.id > last_id)
        .order_by(events_table.c.id)
        .limit(limit)
    )
    return [
        Event(
            id=int(row["id"]),
            player_id=row["player_id"],
            type=EventType(row["type"]),
            payload=json.loads(row["payload"]),
            created_at=row["created_at"],
        )
        for row in rows.mappings()
    ]


async def publish_quietly(publisher: EventPublisher | None, events: Sequence[Event]) -> None:
    """Hand committed events to ``publisher``; log and swallow its failures (they replay)."""
    if publisher is None or not events:
        return
    try:
        await publisher.publish(list(events))
    except Exception:  # a broken bus must not undo or fail a committed payment
        log.exception(
            "publishing %d event(s) failed; they stay in gp_events for replay", len(events)
        )
