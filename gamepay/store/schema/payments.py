"""The payments' tables (revision ``0002_payments``), read and written by ``gamepay.payments``.

An order is written before its payment intent is created (status ``creating``) and carries the
intent's quote once it is known. Next to the orders live three logs: every status move applied
(``gp_intent_log``), every update refused (``gp_refused_transitions``) and every intent nobody
here ordered (``gp_unknown_intents``); and the callback replay guard (``gp_callback_signatures``).
``gp_purchase_slots`` (revision ``0011_purchase_slots``) holds the slots of ``max_per_player``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
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

__all__ = [
    "callback_signatures_table",
    "intent_log_table",
    "orders_table",
    "purchase_slots_table",
    "refused_table",
    "unknown_table",
]

orders_table = Table(
    "gp_orders",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("player_id", String(190), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("status", String(32), nullable=False),
    Column("request_id", String(200), nullable=True),
    Column("sku", String(64), nullable=True),
    Column("fiat_amount", String(40), nullable=True),
    Column("fiat_currency", String(8), nullable=True),
    Column("group_key", String(200), nullable=True),
    Column("payment_intent_id", String(200), nullable=True, unique=True),
    Column("chain_id", String(32), nullable=True),
    Column("token_address", String(128), nullable=True),
    Column("symbol", String(64), nullable=True),
    Column("decimals", Integer, nullable=True),
    Column("crypto_amount", Amount, nullable=True),
    Column("payment_address", String(128), nullable=True),
    Column("payment_deadline", BigInteger, nullable=True),
    Column("received_amount", Amount, nullable=True),
    Column("aggregated_amount", Amount, nullable=True),
    Column("refund_amount", Amount, nullable=True),
    Column("refund_tx_hash", String(200), nullable=True),
    Column("payment_tx_hash", String(200), nullable=True),
    Column("settled_amount", Amount, nullable=False),
    Column("granted", Boolean, nullable=False),
    Column("price_asset_id", String(200), nullable=True),
    Column("price_amount", Amount, nullable=True),
    Column("grant_asset_id", String(200), nullable=True),
    Column("grant_amount", Amount, nullable=True),
    Column("grant_parts", Text, nullable=True),
    Column("poll_attempts", Integer, nullable=False),
    Column("next_poll_at", UTCDateTime, nullable=True),
    Column("create_attempts", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("player_id", "request_id", name="uq_gp_orders_player_request"),
    Index("ix_gp_orders_player_created", "player_id", "created_at"),
    Index("ix_gp_orders_status_next_poll", "status", "next_poll_at"),
    Index("ix_gp_orders_created", "created_at"),
)
"""One purchase, top-up or buy-with-balance, with its intent's quote once known."""

intent_log_table = Table(
    "gp_intent_log",
    metadata,
    Column("id", SEQ, primary_key=True, autoincrement=True),
    Column("order_id", String(64), nullable=False),
    Column("payment_intent_id", String(200), nullable=True),
    Column("from_status", String(32), nullable=False),
    Column("to_status", String(32), nullable=False),
    Column("source", String(32), nullable=False),
    Column("note", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_gp_intent_log_order", "order_id"),
)
"""One status move (or amount settlement) applied to an order, and where it came from."""

refused_table = Table(
    "gp_refused_transitions",
    metadata,
    Column("id", SEQ, primary_key=True, autoincrement=True),
    Column("order_id", String(64), nullable=True),
    Column("payment_intent_id", String(200), nullable=False),
    Column("from_status", String(32), nullable=False),
    Column("to_status", String(32), nullable=False),
    Column("reason", String(64), nullable=False),
    Column("source", String(32), nullable=False),
    Column("detail", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_gp_refused_order", "order_id"),
)
"""An update the payments refused (stale, illegal, amounts or token not matching the order)."""

unknown_table = Table(
    "gp_unknown_intents",
    metadata,
    Column("id", SEQ, primary_key=True, autoincrement=True),
    Column("payment_intent_id", String(200), nullable=False),
    Column("source", String(32), nullable=False),
    Column("reason", String(64), nullable=False),
    Column("body", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_gp_unknown_intent", "payment_intent_id"),
)
"""A callback or listed intent that names no local order (or no intent at the API)."""

callback_signatures_table = Table(
    "gp_callback_signatures",
    metadata,
    Column("signature", String(128), primary_key=True),
    Column("payment_intent_id", String(200), nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
"""A signed callback already processed: the replay guard."""

purchase_slots_table = Table(
    "gp_purchase_slots",
    metadata,
    Column("player_id", String(190), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("slot", Integer, nullable=False),
    Column("order_id", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("player_id", "sku", "slot", name="pk_gp_purchase_slots"),
)
"""One of a player's ``max_per_player`` slots for a sku, held by one order: slot ``n < N``, so the
primary key lets at most N orders hold one, whichever process or replica writes them."""
