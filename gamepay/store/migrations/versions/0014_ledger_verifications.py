"""The ledger's recorded verify runs: ``gp_ledger_verifications``.

The console (and anyone calling ``Ledger.record_verification``) stores each ``verify()`` outcome
here, so every replica shows the same last result.

Revision ID: 0014_ledger_verifications
Revises: 0007_balance_slots
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gamepay.store.types import UTCDateTime

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0014_ledger_verifications"
down_revision: str | None = "0007_balance_slots"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create ``gp_ledger_verifications``."""
    op.create_table(
        "gp_ledger_verifications",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("problem_count", sa.Integer, nullable=False),
        sa.Column("problems", sa.Text, nullable=False),
        sa.Column("balances_checked", sa.Integer, nullable=False),
        sa.Column("transfers_checked", sa.Integer, nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("finished_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    """Drop ``gp_ledger_verifications``."""
    op.drop_table("gp_ledger_verifications")
