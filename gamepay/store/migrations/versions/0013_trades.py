"""Trades: one row per player-to-player trade offer (``gp_trades``).

Revision ID: 0013_trades
Revises: 0001_ledger (a new area, branching from the ledger like the others)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gamepay.store.types import UTCDateTime

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0013_trades"
down_revision: str | None = "0001_ledger"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create gp_trades and its indexes."""
    op.create_table(
        "gp_trades",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("from_player", sa.String(200), nullable=False),
        sa.Column("to_player", sa.String(200), nullable=False),
        sa.Column("offer_key", sa.String(200), nullable=False),
        sa.Column("give", sa.Text, nullable=False),
        sa.Column("want", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("closed_at", UTCDateTime, nullable=True),
        sa.Column("closed_by", sa.String(200), nullable=True),
        sa.Column("closed_key", sa.String(200), nullable=True),
        sa.UniqueConstraint("from_player", "offer_key", name="uq_gp_trades_from_key"),
    )
    op.create_index("ix_gp_trades_status_expires", "gp_trades", ["status", "expires_at"])
    op.create_index("ix_gp_trades_to_player_created", "gp_trades", ["to_player", "created_at"])
    op.create_index("ix_gp_trades_from_player_created", "gp_trades", ["from_player", "created_at"])


def downgrade() -> None:
    """Drop gp_trades."""
    op.drop_index("ix_gp_trades_from_player_created", table_name="gp_trades")
    op.drop_index("ix_gp_trades_to_player_created", table_name="gp_trades")
    op.drop_index("ix_gp_trades_status_expires", table_name="gp_trades")
    op.drop_table("gp_trades")
