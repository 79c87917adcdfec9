"""The reward tables (revision ``0003_rewards``); only ``gamepay.rewards`` reads or writes them.

``gp_reward_runs``: one row per (program, period), UNIQUE(program, period_start); the row is
inserted in the same transaction that writes every payout of the run, so a run either exists
with all its payouts or not at all. ``claimed_by``/``claimed_at`` name the replica that
computed it. ``gp_reward_payouts``: one row per rewarded (run, player), primary key (run_id,
player_id), with the activity the reward was computed from, the amount, the status
(``pending``, ``paid``) and the ledger transfer id once paid; for on-chain programs also the
outcome of sending it to the player's wallet (``send_status``: a withdrawal status, ``no_wallet``
or ``refused:<error code>``) and the withdrawal id.
"""

from __future__ import annotations

import sqlalchemy as sa

from gamepay.store.schema.base import SEQ, metadata
from gamepay.store.types import Amount, UTCDateTime

__all__ = ["payouts_table", "runs_table"]

runs_table = sa.Table(
    "gp_reward_runs",
    metadata,
    sa.Column("id", SEQ, primary_key=True, autoincrement=True),
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
"""``gp_reward_runs`` as a Core table."""

payouts_table = sa.Table(
    "gp_reward_payouts",
    metadata,
    sa.Column("run_id", SEQ, sa.ForeignKey("gp_reward_runs.id"), primary_key=True),
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
    sa.Index("ix_gp_reward_payouts_status", "run_id", "status", "player_id"),
)
"""``gp_reward_payouts`` as a Core table."""
