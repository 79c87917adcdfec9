"""Holds as immutable transfers: ``gp_transfers.phase`` and one transfer per hold move.

A hold writes a pending transfer, and a post or void writes a transfer linked to it by
``hold_id`` (``gamepay.core.holds``). Existing holds get their pending transfer (and voided ones
their void transfer) written here; existing post transfers are marked ``post``.

Revision ID: 0005_hold_transfers
Revises: 0001_ledger
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0005_hold_transfers"
down_revision: str | None = "0001_ledger"
branch_labels: str | None = None
depends_on: str | None = None

_COLUMNS = "id, batch_id, hold_id, phase, debit, credit, asset, amount, kind, memo, created_at"


def upgrade() -> None:
    """Add the phase column, write the missing hold transfers, index (hold_id, phase)."""
    op.add_column("gp_transfers", sa.Column("phase", sa.String(8), nullable=True))
    op.execute("UPDATE gp_transfers SET phase = 'post' WHERE hold_id IS NOT NULL")
    op.execute(
        f"INSERT INTO gp_transfers ({_COLUMNS}) SELECT 'hold:' || id || '/pending', NULL, id,"
        " 'pending', debit, credit, asset, amount, kind, memo, created_at FROM gp_holds"
        " ORDER BY created_at, id"
    )
    op.execute(
        f"INSERT INTO gp_transfers ({_COLUMNS}) SELECT 'hold:' || id || '/void', NULL, id,"
        " 'void', debit, credit, asset, amount, kind, memo, COALESCE(resolved_at, created_at)"
        " FROM gp_holds WHERE status = 'voided' ORDER BY resolved_at, id"
    )
    op.create_index("ux_gp_transfers_hold_phase", "gp_transfers", ["hold_id", "phase"], unique=True)


def downgrade() -> None:
    """Remove the pending and void transfers and the phase column."""
    op.drop_index("ux_gp_transfers_hold_phase", table_name="gp_transfers")
    op.execute("DELETE FROM gp_transfers WHERE phase IN ('pending', 'void')")
    with op.batch_alter_table("gp_transfers") as batch:
        batch.drop_column("phase")
