"""The events outbox: events written in the same transaction as the change they describe.

``gp_events(id, player_id, type, payload, created_at)``: ``id`` increases, so a reconnecting
player is replayed everything after the last id it saw (``events_after``). The payments service
writes rows with ``record_events`` inside its transaction and hands the committed ``Event``
objects to its publisher after the commit; a publisher failure never undoes the change (the row is
there to replay).

A relay (``gamepay.bus.jetstream``) reads every player's ids in order (``event_ids_since``),
then the rows it must publish (``events_with_ids``), and keeps its position in
``gp_event_relay`` (``relay_position``, ``advance_relay``); ``event_to_json`` and
``event_from_json`` are the wire form of an event.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.core.events import Event, EventPublisher, EventType
from gamepay.store.rows import RowInsert
from gamepay.store.schema.events import event_relay_table, events_table

__all__ = [
    "EventDraft",
    "advance_relay",
    "event_from_json",
    "event_ids_since",
    "event_to_json",
    "events_after",
    "events_with_ids",
    "publish_quietly",
    "record_events",
    "relay_position",
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
    return [_event(row) for row in rows.mappings()]


async def event_ids_since(conn: AsyncConnection, last_id: int, limit: int) -> list[int]:
    """The ids of every player's events with ``id > last_id``, ascending, at most ``limit``."""
    rows = await conn.execute(
        select(events_table.c.id)
        .where(events_table.c.id > last_id)
        .order_by(events_table.c.id)
        .limit(limit)
    )
    return [int(event_id) for event_id in rows.scalars()]


async def events_with_ids(conn: AsyncConnection, ids: Sequence[int]) -> list[Event]:
    """The events among ``ids`` that exist (committed), oldest first."""
    if not ids:
        return []
    rows = await conn.execute(
        select(events_table).where(events_table.c.id.in_(list(ids))).order_by(events_table.c.id)
    )
    return [_event(row) for row in rows.mappings()]


def _event(row: Any) -> Event:
    return Event(
        id=int(row["id"]),
        player_id=row["player_id"],
        type=EventType(row["type"]),
        payload=json.loads(row["payload"]),
        created_at=row["created_at"],
    )


async def relay_position(conn: AsyncConnection, name: str) -> tuple[int, str]:
    """Relay ``name``'s position and the outbox epoch. A new relay starts at the newest event
    (history stays put); the epoch is drawn the first time and kept."""
    row = (
        await conn.execute(
            select(event_relay_table.c.last_id, event_relay_table.c.epoch).where(
                event_relay_table.c.name == name
            )
        )
    ).first()
    if row is None:
        newest = await conn.scalar(select(func.coalesce(func.max(events_table.c.id), 0)))
        epoch = secrets.token_hex(8)
        await conn.execute(
            insert(event_relay_table).values(name=name, last_id=int(newest or 0), epoch=epoch)
        )
        return int(newest or 0), epoch
    if row.epoch is None:  # a row from before revision 0009: draw it once, first writer wins
        await conn.execute(
            update(event_relay_table)
            .where(event_relay_table.c.name == name, event_relay_table.c.epoch.is_(None))
            .values(epoch=secrets.token_hex(8))
        )
        return await relay_position(conn, name)
    return int(row.last_id), str(row.epoch)


async def advance_relay(conn: AsyncConnection, name: str, last_id: int) -> None:
    """Move relay ``name`` forward to ``last_id`` (never backward: several relays may write)."""
    await conn.execute(
        update(event_relay_table)
        .where(event_relay_table.c.name == name, event_relay_table.c.last_id < last_id)
        .values(last_id=last_id)
    )


def event_to_json(event: Event) -> bytes:
    """The wire form of a committed event (what a broker carries)."""
    created = None if event.created_at is None else event.created_at.isoformat()
    data = {
        "id": event.id,
        "player_id": event.player_id,
        "type": str(event.type),
        "payload": event.payload,
        "created_at": created,
    }
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def event_from_json(raw: bytes) -> Event | None:
    """The event in ``raw`` (``event_to_json``'s form), or None if it is malformed."""
    try:
        data = json.loads(raw)
        event_id, player_id = data["id"], data["player_id"]
        if type(event_id) is not int or event_id < 1 or not isinstance(player_id, str):
            return None
        payload = data["payload"]
        if not isinstance(payload, dict):
            return None
        created = data.get("created_at")
        return Event(
            id=event_id,
            player_id=player_id,
            type=EventType(data["type"]),
            payload=payload,
            created_at=None if created is None else datetime.fromisoformat(created),
        )
    except (ValueError, KeyError, TypeError):
        return None


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
