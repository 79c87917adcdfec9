"""The events outbox (revision ``0002_payments``) and the relay cursors (``0008_event_relay``,
``0009_event_relay_epoch``).

Only ``gamepay.bus.outbox`` reads or writes them.
``gp_events(id, player_id, type, payload, created_at)``: ``id`` increases, so a reconnecting
player is replayed everything after the last id it saw; ``payload`` is JSON text.
``gp_event_relay(name, last_id, epoch)``: how far a relay (``gamepay.bus.jetstream``) has
published the outbox to a message broker: every event with ``id <= last_id`` is there (or was
given up on); ``epoch`` is random, drawn once per database, and tags its messages on the broker
(so a recreated database's event ids never collide with an older one's).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, String, Table, Text

from gamepay.store.schema.base import SEQ, metadata
from gamepay.store.types import UTCDateTime

__all__ = ["event_relay_table", "events_table"]

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

event_relay_table = Table(
    "gp_event_relay",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("last_id", BigInteger, nullable=False),
    Column("epoch", String(32), nullable=True),
)
"""One relay's durable position in the outbox (only ever moves forward)."""
