"""The outbox epoch: ``gp_event_relay.epoch``, a random tag drawn once per database.

Broker messages carry it beside the event id, so a recreated database (whose ids start again at
1) never has its events taken for duplicates of an older database's, and a replica ignores
messages of another database published on the same subject.

Revision ID: 0009_event_relay_epoch
Revises: 0008_event_relay
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0009_event_relay_epoch"
down_revision: str | None = "0008_event_relay"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add ``gp_event_relay.epoch`` (filled by the relay on its next start)."""
    op.add_column("gp_event_relay", sa.Column("epoch", sa.String(32), nullable=True))


def downgrade() -> None:
    """Drop ``gp_event_relay.epoch``."""
    with op.batch_alter_table("gp_event_relay") as batch:
        batch.drop_column("epoch")
