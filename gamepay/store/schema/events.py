"""The events outbox (revision ``0002_payments``); only ``gamepay.bus.outbox`` reads or writes it.

``gp_events(id, player_id, type, payload, created_at)``: ``id`` increases, so a reconnecting
player is replayed everything after the last id it saw; ``payload`` is JSON text.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table, Text

from gamepay.store.schema.base import SEQ, metadata
from gamepay.store.types import UTCDateTime

__all__ = ["events_table"]

events_table = Table(
    "gp_events",
    metadata,
    Column("id", SEQ, primary_key=True, autoincrement=True),
    Column("player_id", String(190), nullable=False),
    Column("type", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_gp_events_player_id", "player_id", "id"),
)
"""One persisted event for one player."""
