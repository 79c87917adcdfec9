"""Set-based reward computation over the ledger's own history (``gamepay.ledger.reads``).

One ``GROUP BY`` query (the ledger's ``player_activity``) sums, per player, the purchases in the
program asset (debits of ``player:<id>`` with kind ``purchase``), the refunds in that asset
(credits of the player with kind ``refund``) and whether the player was active (any purchase or
deposit in the period, in any asset), all inside the period's half-open ``[start, end)``; held
and voided amounts never count. Sums use ``big_sum``, exact on both backends. The grouped rows
are streamed from a server-side cursor in chunks (``stream_activity``): nothing loads every
transfer, or every player, into Python.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.ledger.reads import player_activity
from gamepay.rewards.periods import Period
from gamepay.rewards.programs import Activity, Program

__all__ = ["PLAYER_PREFIX", "activity_query", "stream_activity"]

PLAYER_PREFIX = "player:"
"""Player accounts are ``player:<id>``; the reward queries read only those."""


def activity_query(program: Program, period: Period) -> sa.Select[tuple[str, int, int, bool]]:
    """``SELECT player_id, purchases, refunds, active`` per player, ordered by account."""
    return player_activity(program.asset, period.start, period.end, PLAYER_PREFIX)


async def stream_activity(
    conn: AsyncConnection, program: Program, period: Period, chunk_size: int = 2000
) -> AsyncIterator[list[Activity]]:
    """Yield the period's activity in chunks of at most ``chunk_size`` players (server cursor)."""
    result = await conn.stream(activity_query(program, period))
    async for partition in result.partitions(chunk_size):
        yield [
            Activity(
                player_id=row.player_id,
                purchases=int(row.purchases),
                refunds=int(row.refunds),
                active=bool(row.active),
            )
            for row in partition
        ]
