"""Payments: orders, the status / refused / unknown-intent logs, the callback replay guard, events.

Revision ID: 0002_payments
Revises: 0001_ledger
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gamepay.store.types import Amount, UTCDateTime

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0002_payments"
down_revision: str | None = "0001_ledger"
branch_labels: str | None = None
depends_on: str | None = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the payments tables and indexes."""
    op.create_table(
        "gp_orders",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("player_id", sa.String(190), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("request_id", sa.String(200), nullable=True),
        sa.Column("sku", sa.String(64), nullable=True),
        sa.Column("fiat_amount", sa.String(40), nullable=True),
        sa.Column("fiat_currency", sa.String(8), nullable=True),
        sa.Column("group_key", sa.String(200), nullable=True),
        sa.Column("payment_intent_id", sa.String(200), nullable=True, unique=True),
        sa.Column("chain_id", sa.String(32), nullable=True),
        sa.Column("token_address", sa.String(128), nullable=True),
        sa.Column("symbol", sa.String(64), nullable=True),
        sa.Column("decimals", sa.Integer, nullable=True),
        sa.Column("crypto_amount", Amount, nullable=True),
        sa.Column("payment_address", sa.String(128), nullable=True),
        sa.Column("payment_deadline", sa.BigInteger, nullable=True),
        sa.Column("received_amount", Amount, nullable=True),
        sa.Column("aggregated_amount", Amount, nullable=True),
        sa.Column("refund_amount", Amount, nullable=True),
        sa.Column("refund_tx_hash", sa.String(200), nullable=True),
        sa.Column("payment_tx_hash", sa.String(200), nullable=True),
        sa.Column("settled_amount", Amount, nullable=False),
        sa.Column("granted", sa.Boolean, nullable=False),
        sa.Column("price_asset_id", sa.String(200), nullable=True),
        sa.Column("price_amount", Amount, nullable=True),
        sa.Column("poll_attempts", sa.Integer, nullable=False),
        sa.Column("next_poll_at", UTCDateTime, nullable=True),
        sa.Column("create_attempts", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("player_id", "request_id", name="uq_gp_orders_player_request"),
    )
    op.create_index("ix_gp_orders_player_created", "gp_orders", ["player_id", "created_at"])
    op.create_index("ix_gp_orders_status_next_poll", "gp_orders", ["status", "next_poll_at"])
    op.create_index("ix_gp_orders_created", "gp_orders", ["created_at"])
    op.create_table(
        "gp_intent_log",
        sa.Column("id", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("payment_intent_id", sa.String(200), nullable=True),
        sa.Column("from_status", sa.String(32), nullable=False),
        sa.Column("to_status", sa.String(32), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_gp_intent_log_order", "gp_intent_log", ["order_id"])
    op.create_table(
        "gp_refused_transitions",
        sa.Column("id", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.String(64), nullable=True),
        sa.Column("payment_intent_id", sa.String(200), nullable=False),
        sa.Column("from_status", sa.String(32), nullable=False),
        sa.Column("to_status", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_gp_refused_order", "gp_refused_transitions", ["order_id"])
    op.create_table(
        "gp_unknown_intents",
        sa.Column("id", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("payment_intent_id", sa.String(200), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("body", sa.Text, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_gp_unknown_intent", "gp_unknown_intents", ["payment_intent_id"])
    op.create_table(
        "gp_callback_signatures",
        sa.Column("signature", sa.String(128), primary_key=True),
        sa.Column("payment_intent_id", sa.String(200), nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "gp_events",
        sa.Column("id", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("player_id", sa.String(190), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_gp_events_player_id", "gp_events", ["player_id", "id"])


def downgrade() -> None:
    """Drop the payments tables."""
    for name in (
        "gp_events",
        "gp_callback_signatures",
        "gp_unknown_intents",
        "gp_refused_transitions",
        "gp_intent_log",
        "gp_orders",
    ):
        op.drop_table(name)
