"""Reward runs and payouts: unique per (program, period) and per (run, player).

Revision ID: 0003_rewards
Revises: 0001_ledger
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gamepay.store.types import Amount, UTCDateTime

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0003_rewards"
down_revision: str | None = "0001_ledger"
branch_labels: str | None = None
depends_on: str | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create gp_reward_runs and gp_reward_payouts."""
    op.create_table(
        "gp_reward_runs",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("program", sa.String(48), nullable=False),
        sa.Column("period_key", sa.String(10), nullable=False),
        sa.Column("period_start", UTCDateTime, nullable=False),
        sa.Column("period_end", UTCDateTime, nullable=False),
        sa.Column("asset", sa.String(200), nullable=False),
        sa.Column("pool", sa.String(200), nullable=False),
        sa.Column("program_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("players", sa.Integer, nullable=False),
        sa.Column("total", Amount, nullable=False),
        sa.Column("claimed_by", sa.String(200), nullable=False),
        sa.Column("claimed_at", UTCDateTime, nullable=False),
        sa.Column("finished_at", UTCDateTime, nullable=True),
        sa.UniqueConstraint("program", "period_start", name="uq_gp_reward_runs_program_period"),
    )
    op.create_table(
        "gp_reward_payouts",
        sa.Column("run_id", _ID, sa.ForeignKey("gp_reward_runs.id"), primary_key=True),
        sa.Column("player_id", sa.String(200), primary_key=True),
        sa.Column("purchases", Amount, nullable=False),
        sa.Column("refunds", Amount, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("amount", Amount, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("transfer_id", sa.String(256), nullable=True),
        sa.Column("paid_at", UTCDateTime, nullable=True),
        sa.Column("send_status", sa.String(40), nullable=True),
        sa.Column("withdrawal_id", sa.String(200), nullable=True),
    )
    op.create_index(
        "ix_gp_reward_payouts_status", "gp_reward_payouts", ["run_id", "status", "player_id"]
    )


def downgrade() -> None:
    """Drop the reward tables."""
    op.drop_index("ix_gp_reward_payouts_status", table_name="gp_reward_payouts")
    op.drop_table("gp_reward_payouts")
    op.drop_table("gp_reward_runs")
