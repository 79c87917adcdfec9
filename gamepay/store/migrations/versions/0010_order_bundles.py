"""What a bundle purchase grants, stored on its order: ``gp_orders.grant_parts``.

A bundle grants several things in one order; its parts are stored as JSON text
(``[{"asset_id": ..., "amount": "<base units>"}, ...]``) so it settles exactly as sold. A
single-grant order keeps using ``grant_asset_id`` / ``grant_amount`` (revision 0006) and leaves
this NULL.

Revision ID: 0010_order_bundles
Revises: 0006_order_grants
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0010_order_bundles"
down_revision: str | None = "0006_order_grants"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the bundle parts column (NULL for existing orders)."""
    op.add_column("gp_orders", sa.Column("grant_parts", sa.Text(), nullable=True))


def downgrade() -> None:
    """Drop the bundle parts column."""
    with op.batch_alter_table("gp_orders") as batch:
        batch.drop_column("grant_parts")
