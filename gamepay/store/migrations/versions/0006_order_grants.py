"""What a purchase grants, stored on its order: ``gp_orders.grant_asset_id`` and ``grant_amount``.

A purchase settles from its own row, so an order whose sku left the catalog (or a command run
without the catalog) still grants exactly what was sold. Orders written before this revision
keep NULL there and are settled from the catalog, as before.

Revision ID: 0006_order_grants
Revises: 0002_payments
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gamepay.store.types import Amount

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0006_order_grants"
down_revision: str | None = "0002_payments"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the grant columns (NULL for existing orders)."""
    op.add_column("gp_orders", sa.Column("grant_asset_id", sa.String(200), nullable=True))
    op.add_column("gp_orders", sa.Column("grant_amount", Amount, nullable=True))


def downgrade() -> None:
    """Drop the grant columns."""
    with op.batch_alter_table("gp_orders") as batch:
        batch.drop_column("grant_amount")
        batch.drop_column("grant_asset_id")
