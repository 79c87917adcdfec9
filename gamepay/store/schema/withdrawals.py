"""The withdrawals' tables, read and written by ``gamepay.withdrawals`` alone.

One row per withdrawal, and per-day totals for the daily limit.

Created by the Alembic revision ``0004_withdrawals`` (explicit ``op.create_table`` calls that
must stay in step with these definitions; a test compares them).

- ``gp_withdrawals``: ``id`` (``wd_<hex>``) and ``reference`` (the stable note sent with the
  transfer, what reconciliation matches on) are unique; ``(player_id, request_id)`` is unique so
  a replayed request can never create a second withdrawal.
- ``gp_withdrawal_days``: per (player, asset, day in the configured zone) the total of the
  withdrawals that count toward the daily limit (held, sending, sent, unknown). The row is
  locked (``FOR UPDATE``) while a withdrawal is checked against the limit, so two concurrent
  withdrawals cannot both squeeze under it; a failed withdrawal gives its amount back.
- ``gp_withdrawal_exports`` (revision ``0012_console_audit``): Studio transfer exports an
  operator uploaded (file name, sha256, size, the parsed records as JSON text); the latest one
  gives the candidates of the withdrawals waiting for a decision.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from gamepay.store.schema.base import SEQ, metadata
from gamepay.store.types import Amount, UTCDateTime

__all__ = ["withdrawal_days_table", "withdrawal_exports_table", "withdrawals_table"]

withdrawals_table = Table(
    "gp_withdrawals",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("reference", String(200), nullable=False, unique=True),
    Column("player_id", String(200), nullable=False),
    Column("request_id", String(200), nullable=False),
    Column("asset_id", String(200), nullable=False),
    Column("chain_id", String(32), nullable=False),
    Column("token_address", String(128), nullable=False),
    Column("decimals", Integer, nullable=False),
    Column("amount", Amount, nullable=False),
    Column("address", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("transfer_id", String(200), nullable=True),
    Column("tx_hash", String(200), nullable=True),
    Column("error", Text, nullable=True),
    Column("limit_day", String(10), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("player_id", "request_id", name="uq_gp_withdrawals_player_request"),
    Index("ix_gp_withdrawals_status", "status"),
    Index("ix_gp_withdrawals_player_created", "player_id", "created_at"),
)
"""One row per withdrawal."""

withdrawal_days_table = Table(
    "gp_withdrawal_days",
    metadata,
    Column("player_id", String(200), nullable=False),
    Column("asset_id", String(200), nullable=False),
    Column("day", String(10), nullable=False),
    Column("total", Amount, nullable=False),
    PrimaryKeyConstraint("player_id", "asset_id", "day", name="pk_gp_withdrawal_days"),
)
"""Per (player, asset, day): the amount that counts toward the daily limit."""

withdrawal_exports_table = Table(
    "gp_withdrawal_exports",
    metadata,
    Column("id", SEQ, primary_key=True, autoincrement=True),
    Column("uploaded_at", UTCDateTime, nullable=False),
    Column("filename", String(200), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("count", Integer, nullable=False),
    Column("records", Text, nullable=False),
)
"""One uploaded Studio transfer export and its parsed records (JSON text)."""
