"""The subscriptions' tables (revision ``0016_subscriptions``); only ``gamepay.payments.renewals``
reads or writes them.

``gp_subscriptions``: one row per (player, sku): the latest paid period (``period_index``,
``period_start``, ``period_end``), when its pass lapses (``pass_until``: the end plus the
grace), from when its renewal is offered (``offer_at``), the highest period index whose renewal
was offered (``offered_index``, -1 for none) and the lot of the pass (``lot_id``).
``gp_subscription_periods``: one row per paid period, UNIQUE (player, sku, period_index) and
UNIQUE order_id: a period is paid once, and an order pays at most one period.
"""

from __future__ import annotations

import sqlalchemy as sa

from gamepay.store.schema.base import metadata
from gamepay.store.types import UTCDateTime

__all__ = ["periods_table", "subscriptions_table"]

subscriptions_table = sa.Table(
    "gp_subscriptions",
    metadata,
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
    sa.Index("ix_gp_subscriptions_offer", "offer_at"),
)
"""``gp_subscriptions`` as a Core table."""

periods_table = sa.Table(
    "gp_subscription_periods",
    metadata,
    sa.Column("player_id", sa.String(190), primary_key=True),
    sa.Column("sku", sa.String(64), primary_key=True),
    sa.Column("period_index", sa.Integer, primary_key=True),
    sa.Column("order_id", sa.String(64), nullable=False, unique=True),
    sa.Column("period_start", UTCDateTime, nullable=False),
    sa.Column("period_end", UTCDateTime, nullable=False),
    sa.Column("paid_at", UTCDateTime, nullable=False),
)
"""``gp_subscription_periods`` as a Core table."""
