"""The lots of time-limited grants (revision ``0015_lots``); only ``gamepay.ledger.lots``
reads or writes them (the inventory and payments call it).

``gp_lots``: one row per timed grant, written in the same transaction as the grant's ledger
batch. ``id`` is the grant's transfer id (``<posting id>/<index>``), ``amount`` what it granted,
``remaining`` what spends have not consumed yet, ``expires_at`` the grant time plus
``duration_s``. ``state`` is ``open`` (something remains), ``used`` (spent in full) or
``expired`` (swept: ``expired_amount`` went back to the issuer in the transfer
``expiry_transfer_id``). States are compared in SQL, never amounts (SQLite stores amounts as text).
"""

from __future__ import annotations

import sqlalchemy as sa

from gamepay.store.schema.base import metadata
from gamepay.store.types import Amount, UTCDateTime

__all__ = ["lots_table"]

lots_table = sa.Table(
    "gp_lots",
    metadata,
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
    sa.Index("ix_gp_lots_player_asset", "player_id", "asset_id", "state", "expires_at"),
    sa.Index("ix_gp_lots_state_expires", "state", "expires_at"),
)
"""``gp_lots`` as a Core table."""
