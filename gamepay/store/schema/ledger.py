"""The ledger's tables (revision ``0001_ledger``); only ``gamepay.ledger`` reads or writes them."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    text,
)

from gamepay.store.schema.base import SEQ, metadata
from gamepay.store.types import Amount, UTCDateTime

__all__ = [
    "BALANCE_SLOTS",
    "accounts_table",
    "assets_table",
    "balances_table",
    "batches_table",
    "holds_table",
    "transfers_table",
    "verifications_table",
]

assets_table = Table(
    "gp_assets",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("code", String(64), nullable=False),
    Column("decimals", Integer, nullable=False),
    Column("chain_id", String(32), nullable=True),
    Column("address", String(128), nullable=True),
)
"""A registered asset: ``code`` is a currency code, token symbol or item sku."""

accounts_table = Table(
    "gp_accounts",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("allow_negative", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
"""An opened account; ``allow_negative`` only for system accounts that create value."""

BALANCE_SLOTS = 51
"""How many rows (slots) a system account's balance in one asset may be spread over on
PostgreSQL (revision ``0007_balance_slots``): 51 divides 2**256-1, so slots each within
+-(2**256-1)/51 keep the sum within +-(2**256-1)."""

balances_table = Table(
    "gp_balances",
    metadata,
    Column("account_id", String(200), ForeignKey("gp_accounts.id"), primary_key=True),
    Column("asset", String(200), ForeignKey("gp_assets.id"), primary_key=True),
    Column("available", Amount, nullable=False),
    Column("held", Amount, nullable=False),
    Column(
        "slot",
        SmallInteger,
        primary_key=True,
        nullable=False,
        server_default=text("0"),
        autoincrement=False,
    ),
)
"""The balance of one account in one asset, available and held (by pending holds): the sum of
its rows. A player's is one row (slot 0); on PostgreSQL a system account's may be spread over
``BALANCE_SLOTS`` slots so concurrent postings do not queue on one row (``0007_balance_slots``)."""

transfers_table = Table(
    "gp_transfers",
    metadata,
    Column("seq", SEQ, primary_key=True, autoincrement=True),
    Column("id", String(256), nullable=False, unique=True),
    Column("batch_id", String(200), nullable=True),
    Column("hold_id", String(200), nullable=True),
    Column("phase", String(8), nullable=True),
    Column("debit", String(200), ForeignKey("gp_accounts.id"), nullable=False),
    Column("credit", String(200), ForeignKey("gp_accounts.id"), nullable=False),
    Column("asset", String(200), ForeignKey("gp_assets.id"), nullable=False),
    Column("amount", Amount, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("memo", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_gp_transfers_debit_created", "debit", "created_at"),
    Index("ix_gp_transfers_credit_created", "credit", "created_at"),
    Index("ix_gp_transfers_kind_created", "kind", "created_at"),
    Index("ix_gp_transfers_batch", "batch_id"),
    Index("ux_gp_transfers_hold_phase", "hold_id", "phase", unique=True),
)
"""One append-only posting; ``seq`` orders them, ``id`` is the caller's idempotency key.

``phase`` is None for a plain transfer; a hold's transfers (``hold_id``) are ``pending``, then
``post`` or ``void`` (``gamepay.core.holds``, revision ``0005_hold_transfers``)."""

holds_table = Table(
    "gp_holds",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("debit", String(200), ForeignKey("gp_accounts.id"), nullable=False),
    Column("credit", String(200), ForeignKey("gp_accounts.id"), nullable=False),
    Column("asset", String(200), ForeignKey("gp_assets.id"), nullable=False),
    Column("amount", Amount, nullable=False),
    Column("posted_amount", Amount, nullable=True),
    Column("status", String(16), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("memo", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime, nullable=True),
)
"""A two-phase transfer: pending, then posted (maybe partially) or voided.

Its status mirrors its transfers in ``gp_transfers`` (``hold_id``), which ``verify`` checks."""

batches_table = Table(
    "gp_batches",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("content_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
"""A batch id and the digest of its transfers, for idempotent replay."""

verifications_table = Table(
    "gp_ledger_verifications",
    metadata,
    Column("id", SEQ, primary_key=True, autoincrement=True),
    Column("ok", Boolean, nullable=False),
    Column("problem_count", Integer, nullable=False),
    Column("problems", Text, nullable=False),
    Column("balances_checked", Integer, nullable=False),
    Column("transfers_checked", Integer, nullable=False),
    Column("by", String(64), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=False),
)
"""Each recorded ``verify()`` run (revision ``0014_ledger_verifications``): its outcome, the
first problems (one per line), who asked; the newest is the ledger's last verify result."""
