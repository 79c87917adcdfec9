"""The ledger: assets, accounts, balances, transfers, holds and batches.

Revision ID: 0001_ledger
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gamepay.store.types import Amount, UTCDateTime

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0001_ledger"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the ledger's tables and indexes."""
    op.create_table(
        "gp_assets",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("decimals", sa.Integer, nullable=False),
        sa.Column("chain_id", sa.String(32), nullable=True),
        sa.Column("address", sa.String(128), nullable=True),
    )
    op.create_table(
        "gp_accounts",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("allow_negative", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "gp_balances",
        sa.Column("account_id", sa.String(200), sa.ForeignKey("gp_accounts.id"), primary_key=True),
        sa.Column("asset", sa.String(200), sa.ForeignKey("gp_assets.id"), primary_key=True),
        sa.Column("available", Amount, nullable=False),
        sa.Column("held", Amount, nullable=False),
    )
    op.create_table(
        "gp_transfers",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(256), nullable=False, unique=True),
        sa.Column("batch_id", sa.String(200), nullable=True),
        sa.Column("hold_id", sa.String(200), nullable=True),
        sa.Column("debit", sa.String(200), sa.ForeignKey("gp_accounts.id"), nullable=False),
        sa.Column("credit", sa.String(200), sa.ForeignKey("gp_accounts.id"), nullable=False),
        sa.Column("asset", sa.String(200), sa.ForeignKey("gp_assets.id"), nullable=False),
        sa.Column("amount", Amount, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("memo", sa.Text, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_gp_transfers_debit_created", "gp_transfers", ["debit", "created_at"])
    op.create_index("ix_gp_transfers_credit_created", "gp_transfers", ["credit", "created_at"])
    op.create_index("ix_gp_transfers_kind_created", "gp_transfers", ["kind", "created_at"])
    op.create_index("ix_gp_transfers_batch", "gp_transfers", ["batch_id"])
    op.create_table(
        "gp_holds",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("debit", sa.String(200), sa.ForeignKey("gp_accounts.id"), nullable=False),
        sa.Column("credit", sa.String(200), sa.ForeignKey("gp_accounts.id"), nullable=False),
        sa.Column("asset", sa.String(200), sa.ForeignKey("gp_assets.id"), nullable=False),
        sa.Column("amount", Amount, nullable=False),
        sa.Column("posted_amount", Amount, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("memo", sa.Text, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("resolved_at", UTCDateTime, nullable=True),
    )
    op.create_table(
        "gp_batches",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    """Drop the ledger's tables."""
    for name in ("gp_batches", "gp_holds", "gp_transfers", "gp_balances", "gp_accounts"):
        op.drop_table(name)
    op.drop_table("gp_assets")
