"""The lots of time-limited grants: ``gp_lots`` (``gamepay.inventory``, ``docs/inventory.md``).

A grant with a duration writes one lot beside its ledger transfer; spends consume lots, earliest
expiry first, and the expiry sweep posts what is left of an expired lot back to the issuer.

Revision ID: 0015_lots
Revises: 0001_ledger
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gamepay.store.types import Amount, UTCDateTime

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0015_lots"
down_revision: str | None = "0001_ledger"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create ``gp_lots`` and its two indexes."""
    op.create_table(
        "gp_lots",
        sa.Column("id", sa.String(256), primary_key=True),
        sa.Column("player_id", sa.String(190), nullable=False),
        sa.Column("asset_id", sa.String(200), nullable=False),
        sa.Column("amount", Amount, nullable=False),
        sa.Column("remaining", Amount, nullable=False),
        sa.Column("duration_s", sa.BigInteger, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("expiry_transfer_id", sa.String(200), nullable=True),
        sa.Column("expired_amount", Amount, nullable=True),
    )
    op.create_index(
        "ix_gp_lots_player_asset", "gp_lots", ["player_id", "asset_id", "state", "expires_at"]
    )
    op.create_index("ix_gp_lots_state_expires", "gp_lots", ["state", "expires_at"])


def downgrade() -> None:
    """Drop ``gp_lots``."""
    op.drop_table("gp_lots")
