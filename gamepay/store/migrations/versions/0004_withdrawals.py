"""Withdrawals: one row per withdrawal, and per-day totals for the daily limit.

Revision ID: 0004_withdrawals
Revises: 0001_ledger
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gamepay.store.types import Amount, UTCDateTime

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0004_withdrawals"
down_revision: str | None = "0001_ledger"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create gp_withdrawals and gp_withdrawal_days."""
    op.create_table(
        "gp_withdrawals",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("reference", sa.String(200), nullable=False, unique=True),
        sa.Column("player_id", sa.String(200), nullable=False),
        sa.Column("request_id", sa.String(200), nullable=False),
        sa.Column("asset_id", sa.String(200), nullable=False),
        sa.Column("chain_id", sa.String(32), nullable=False),
        sa.Column("token_address", sa.String(128), nullable=False),
        sa.Column("decimals", sa.Integer, nullable=False),
        sa.Column("amount", Amount, nullable=False),
        sa.Column("address", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("transfer_id", sa.String(200), nullable=True),
        sa.Column("tx_hash", sa.String(200), nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("limit_day", sa.String(10), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("player_id", "request_id", name="uq_gp_withdrawals_player_request"),
    )
    op.create_index("ix_gp_withdrawals_status", "gp_withdrawals", ["status"])
    op.create_index(
        "ix_gp_withdrawals_player_created", "gp_withdrawals", ["player_id", "created_at"]
    )
    op.create_table(
        "gp_withdrawal_days",
        sa.Column("player_id", sa.String(200), nullable=False),
        sa.Column("asset_id", sa.String(200), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("total", Amount, nullable=False),
        sa.PrimaryKeyConstraint("player_id", "asset_id", "day", name="pk_gp_withdrawal_days"),
    )


def downgrade() -> None:
    """Drop the withdrawals' tables."""
    op.drop_table("gp_withdrawal_days")
    op.drop_index("ix_gp_withdrawals_player_created", table_name="gp_withdrawals")
    op.drop_index("ix_gp_withdrawals_status", table_name="gp_withdrawals")
    op.drop_table("gp_withdrawals")
