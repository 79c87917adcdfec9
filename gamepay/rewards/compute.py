"""Set-based reward computation over the ledger's own history (``gp_transfers``).

One ``GROUP BY`` query sums, per player, the purchases in the program asset (debits of
``player:<id>`` with kind ``purchase``), the refunds in that asset (credits of the player with
kind ``refund``) and whether the player was active (any purchase or deposit in the period, in any
asset), all inside the period's half-open ``[start, end)``. Sums use ``big_sum``, exact on both
backends. The grouped rows are streamed from a server-side cursor in chunks
(``stream_activity``): nothing loads every transfer, or every player, into Python.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.core.transfers import TransferKind
from gamepay.rewards.periods import Period
from gamepay.rewards.programs import Activity, Program
from gamepay.store.schema.ledger import transfers_table
from gamepay.store.sql import big_sum
from gamepay.store.types import Amount

__all__ = ["PLAYER_PREFIX", "activity_query", "stream_activity"]

PLAYER_PREFIX = "player:"
"""Player accounts are ``player:<id>``; the reward queries read only those."""


def _activity_union(program: Program, period: Period) -> sa.Subquery:
    t = transfers_table
    in_period = sa.and_(t.c.created_at >= period.start, t.c.created_at < period.end)
    no_amount = sa.cast(sa.null(), Amount())
    purchases = sa.select(
        t.c.debit.label("account"),
        sa.case((t.c.asset == program.asset, t.c.amount), else_=no_amount).label("purchase"),
        no_amount.label("refund"),
        sa.literal(1).label("active"),
    ).where(
        t.c.kind == TransferKind.PURCHASE.value,
        in_period,
        t.c.debit.startswith(PLAYER_PREFIX, autoescape=True),
    )
    refunds = sa.select(
        t.c.credit.label("account"),
        no_amount.label("purchase"),
        t.c.amount.label("refund"),
        sa.literal(0).label("active"),
    ).where(
        t.c.kind == TransferKind.REFUND.value,
        t.c.asset == program.asset,
        in_period,
        t.c.credit.startswith(PLAYER_PREFIX, autoescape=True),
    )
    deposits = sa.select(
        t.c.credit.label("account"),
        no_amount.label("purchase"),
        no_amount.label("refund"),
        sa.literal(1).label("active"),
    ).where(
        t.c.kind == TransferKind.DEPOSIT.value,
        in_period,
        t.c.credit.startswith(PLAYER_PREFIX, autoescape=True),
    )
    return sa.union_all(purchases, refunds, deposits).subquery("activity")


def _grouped(program: Program, period: Period) -> tuple[list[sa.ColumnElement[Any]], sa.Subquery]:
    u = _activity_union(program, period)
    columns: list[sa.ColumnElement[Any]] = [
        sa.func.substr(u.c.account, len(PLAYER_PREFIX) + 1).label("player_id"),
        sa.func.coalesce(big_sum(u.c.purchase), 0, type_=Amount()).label("purchases"),
        sa.func.coalesce(big_sum(u.c.refund), 0, type_=Amount()).label("refunds"),
        (sa.func.max(u.c.active) == 1).label("active"),
    ]
    return columns, u


def activity_query(program: Program, period: Period) -> sa.Select[tuple[str, int, int, bool]]:
    """``SELECT player_id, purchases, refunds, active`` per player, ordered by account."""
    columns, u = _grouped(program, period)
    query: sa.Select[tuple[str, int, int, bool]] = (
        sa.select(*columns).group_by(u.c.account).order_by(u.c.account)
    )
    return query


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
