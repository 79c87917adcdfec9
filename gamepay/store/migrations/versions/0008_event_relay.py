"""The relay cursor of the events outbox: ``gp_event_relay(name, last_id)``.

A relay publishes committed outbox rows to a message broker (NATS JetStream) and remembers here
how far it got, so a restarted relay, or another replica's, carries on where it stopped.

Revision ID: 0008_event_relay
Revises: 0002_payments
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0008_event_relay"
down_revision: str | None = "0002_payments"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create ``gp_event_relay``."""
    op.create_table(
        "gp_event_relay",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("last_id", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    """Drop ``gp_event_relay``."""
    op.drop_table("gp_event_relay")
