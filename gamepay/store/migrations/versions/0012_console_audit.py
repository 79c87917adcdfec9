"""The operator console's tables: the audit log and the uploaded Studio transfer exports.

``gp_audit_log`` (owned by ``gamepay.audit``): one row per operator action, append-only.
``gp_withdrawal_exports`` (owned by ``gamepay.withdrawals``): transfer exports an operator
uploaded, whose records are the candidates of withdrawals waiting for a decision.

Revision ID: 0012_console_audit
Revises: 0011_purchase_slots
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gamepay.store.types import UTCDateTime

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0012_console_audit"
down_revision: str | None = "0011_purchase_slots"
branch_labels: str | None = None
depends_on: str | None = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create ``gp_audit_log`` and ``gp_withdrawal_exports``."""
    op.create_table(
        "gp_audit_log",
        sa.Column("id", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("operator", sa.String(64), nullable=False),
        sa.Column("client_ip", sa.String(64), nullable=False),
        sa.Column("session", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("error", sa.String(64), nullable=True),
    )
    op.create_index("ix_gp_audit_log_target", "gp_audit_log", ["target", "id"])
    op.create_table(
        "gp_withdrawal_exports",
        sa.Column("id", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("uploaded_at", UTCDateTime, nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("records", sa.Text, nullable=False),
    )


def downgrade() -> None:
    """Drop the console's tables."""
    op.drop_table("gp_withdrawal_exports")
    op.drop_index("ix_gp_audit_log_target", table_name="gp_audit_log")
    op.drop_table("gp_audit_log")
