"""The trades' table, read and written by ``gamepay.inventory.trades`` alone.

Created by the Alembic revision ``0013_trades`` (explicit ``op.create_table`` calls that must
stay in step with this definition; a test compares them).

- ``gp_trades``: one row per offer. ``give`` and ``want`` are JSON lists of ``[asset id,
  base units as a decimal string]``. ``(from_player, offer_key)`` is unique, so a resent offer
  never holds twice. ``status`` leaves ``open`` once, by ``UPDATE ... WHERE status = 'open'``;
  ``closed_by`` / ``closed_key`` record who closed it with which request (a resent request is
  answered, another one refused). ``(status, expires_at)`` serves the expiry sweep.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table, Text, UniqueConstraint

from gamepay.store.schema.base import metadata
from gamepay.store.types import UTCDateTime

__all__ = ["trades_table"]

trades_table = Table(
    "gp_trades",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("from_player", String(200), nullable=False),
    Column("to_player", String(200), nullable=False),
    Column("offer_key", String(200), nullable=False),
    Column("give", Text, nullable=False),
    Column("want", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime, nullable=True),
    Column("closed_by", String(200), nullable=True),
    Column("closed_key", String(200), nullable=True),
    UniqueConstraint("from_player", "offer_key", name="uq_gp_trades_from_key"),
    Index("ix_gp_trades_status_expires", "status", "expires_at"),
    Index("ix_gp_trades_to_player_created", "to_player", "created_at"),
    Index("ix_gp_trades_from_player_created", "from_player", "created_at"),
)
"""One row per trade offer."""
