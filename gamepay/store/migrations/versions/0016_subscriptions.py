"""Subscriptions paid in crypto: ``gp_subscriptions`` and ``gp_subscription_periods``.

A subscription's latest paid period per (player, sku), and one row per paid period, unique per
(player, sku, period index): a renewal extends a subscription once per period, whatever the
callbacks do (``gamepay.payments.renewals``, ``docs/catalog.md``).

Revision ID: 0016_subscriptions
Revises: 0002_payments
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gamepay.store.types import UTCDateTime

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0016_subscriptions"
down_revision: str | None = "0002_payments"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create both tables and the offer index."""
    op.create_table(
        "gp_subscriptions",
        sa.Column("player_id", sa.String(190), primary_key=True),
        sa.Column("sku", sa.String(64), primary_key=True),
        sa.Column("period_index", sa.Integer, nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("period_start", UTCDateTime, nullable=False),
        sa.Column("period_end", UTCDateTime, nullable=False),
        sa.Column("pass_until", UTCDateTime, nullable=False),
        sa.Column("offer_at", UTCDateTime, nullable=False),
        sa.Column("offered_index", sa.Integer, nullable=False),
        sa.Column("lot_id", sa.String(256), nullable=True),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_gp_subscriptions_offer", "gp_subscriptions", ["offer_at"])
    op.create_table(
        "gp_subscription_periods",
        sa.Column("player_id", sa.String(190), primary_key=True),
        sa.Column("sku", sa.String(64), primary_key=True),
        sa.Column("period_index", sa.Integer, primary_key=True),
        sa.Column("order_id", sa.String(64), nullable=False, unique=True),
        sa.Column("period_start", UTCDateTime, nullable=False),
        sa.Column("period_end", UTCDateTime, nullable=False),
        sa.Column("paid_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("gp_subscription_periods")
    op.drop_table("gp_subscriptions")
