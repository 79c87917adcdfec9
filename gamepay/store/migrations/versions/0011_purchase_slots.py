"""The slots of ``max_per_player``: ``gp_purchase_slots(player_id, sku, slot, order_id)``.

An order of an item limited to N per player takes a free slot ``0 <= slot < N`` in the
transaction that writes it; the primary key ``(player_id, sku, slot)`` lets at most N orders hold
one, across processes and replicas. An order that can no longer be paid gives its slot back.

Revision ID: 0011_purchase_slots
Revises: 0010_order_bundles
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gamepay.store.types import UTCDateTime

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0011_purchase_slots"
down_revision: str | None = "0010_order_bundles"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create ``gp_purchase_slots``."""
    op.create_table(
        "gp_purchase_slots",
        sa.Column("player_id", sa.String(190), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("slot", sa.Integer, nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("player_id", "sku", "slot", name="pk_gp_purchase_slots"),
    )


def downgrade() -> None:
    """Drop ``gp_purchase_slots``."""
    op.drop_table("gp_purchase_slots")
