"""The ledger's reads, including those other areas need so that none reads the ledger's tables.

Balances, history, assets, transfer counts, and ``player_activity`` (the per-player purchase /
refund / deposit sums the rewards compute from). Settled activity is the plain transfers and the
posts of holds (``SETTLED``): pending and void transfers move no value between accounts.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.core.holds import TransferPhase
from gamepay.core.transfers import TransferKind
from gamepay.errors import InvalidInput
from gamepay.ledger.records import Balance, HistoryPage
from gamepay.ledger.rows import TRANSFER_COLUMNS, transfer_record
from gamepay.store.schema.ledger import accounts_table, balances_table, transfers_table
from gamepay.store.sql import big_sum, utc_day
from gamepay.store.types import Amount

__all__ = [
    "MAX_HISTORY",
    "SETTLED",
    "accounts_with_prefix",
    "count_transfers",
    "parse_cursor",
    "player_activity",
    "read_balance",
    "read_balances",
    "read_history",
    "stored_balances",
    "transfers_by_kind",
    "transfers_per_day",
]

MAX_HISTORY = 1000
"""The most entries one history page holds."""

_B = balances_table.c
_T = transfers_table.c

SETTLED = sa.or_(_T.phase.is_(None), _T.phase == TransferPhase.POST.value)
"""The transfers that moved value between accounts (plain ones and hold posts)."""


def stored_balances() -> sa.Select[tuple[str, str, int, int]]:
    """``account_id, asset, available, held`` of every stored balance: the exact sums of its
    rows (one for a player; up to ``BALANCE_SLOTS`` for a system account on PostgreSQL).
    Narrow it with ``.where(...)`` on ``gp_balances`` columns."""
    query: sa.Select[tuple[str, str, int, int]] = sa.select(
        _B.account_id,
        _B.asset,
        big_sum(_B.available).label("available"),
        big_sum(_B.held).label("held"),
    ).group_by(_B.account_id, _B.asset)
    return query


async def read_balance(conn: AsyncConnection, account_id: str, asset_id: str) -> Balance:
    """The stored balance (zero if never touched)."""
    row = (
        await conn.execute(
            stored_balances().where(_B.account_id == account_id, _B.asset == asset_id)
        )
    ).first()
    return Balance() if row is None else Balance(row.available, row.held)


async def read_balances(conn: AsyncConnection, account_id: str) -> dict[str, Balance]:
    """Every asset an account has touched, with its balance, by asset id."""
    rows = await conn.execute(
        stored_balances().where(_B.account_id == account_id).order_by(_B.asset)
    )
    return {row.asset: Balance(row.available, row.held) for row in rows}


def parse_cursor(cursor: str | None) -> int | None:
    """The ``seq`` a history cursor stands for (None for the first page), else InvalidInput."""
    if cursor is None:
        return None
    digits = cursor[1:] if isinstance(cursor, str) and cursor.startswith("s") else ""
    if not digits.isascii() or not digits.isdigit():
        raise InvalidInput("not a history cursor")
    return int(digits)


async def read_history(
    conn: AsyncConnection, account_id: str, asset_id: str | None, before: int | None, limit: int
) -> HistoryPage:
    """Settled transfers debiting or crediting an account, newest first."""
    query = sa.select(_T.seq, *TRANSFER_COLUMNS).where(
        sa.or_(_T.debit == account_id, _T.credit == account_id), SETTLED
    )
    if asset_id is not None:
        query = query.where(_T.asset == asset_id)
    if before is not None:
        query = query.where(_T.seq < before)
    rows = list(await conn.execute(query.order_by(_T.seq.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = f"s{rows[-1].seq}" if more else None
    return HistoryPage(tuple(transfer_record(r) for r in rows), next_cursor)


async def count_transfers(conn: AsyncConnection) -> int:
    """How many transfers the log holds (every phase)."""
    count = (await conn.execute(sa.select(sa.func.count()).select_from(transfers_table))).one()
    return int(count[0])


def transfers_by_kind() -> sa.Select[tuple[str, int]]:
    """``SELECT kind, count`` of the settled transfers (for metrics)."""
    query: sa.Select[tuple[str, int]] = (
        sa.select(_T.kind, sa.func.count()).where(SETTLED).group_by(_T.kind)
    )
    return query


def player_activity(
    asset_id: str, start: datetime, end: datetime, prefix: str
) -> sa.Select[tuple[str, int, int, bool]]:
    """Per player account (``<prefix><player id>``) with activity in ``[start, end)``, ordered by
    account: ``player_id``, ``purchases`` (settled purchase debits in ``asset_id``), ``refunds``
    (settled refund credits in ``asset_id``), ``active`` (any purchase or deposit, any asset).

    Sums are exact (``big_sum``) on both backends; stream it from a server-side cursor.
    """
    t = _T
    in_period = sa.and_(t.created_at >= start, t.created_at < end, SETTLED)
    no_amount = sa.cast(sa.null(), Amount())
    purchases = sa.select(
        t.debit.label("account"),
        sa.case((t.asset == asset_id, t.amount), else_=no_amount).label("purchase"),
        no_amount.label("refund"),
        sa.literal(1).label("active"),
    ).where(
        t.kind == TransferKind.PURCHASE.value,
        in_period,
        t.debit.startswith(prefix, autoescape=True),
    )
    refunds = sa.select(
        t.credit.label("account"),
        no_amount.label("purchase"),
        t.amount.label("refund"),
        sa.literal(0).label("active"),
    ).where(
        t.kind == TransferKind.REFUND.value,
        t.asset == asset_id,
        in_period,
        t.credit.startswith(prefix, autoescape=True),
    )
    deposits = sa.select(
        t.credit.label("account"),
        no_amount.label("purchase"),
        no_amount.label("refund"),
        sa.literal(1).label("active"),
    ).where(
        t.kind == TransferKind.DEPOSIT.value,
        in_period,
        t.credit.startswith(prefix, autoescape=True),
    )
    u = sa.union_all(purchases, refunds, deposits).subquery("activity")
    query: sa.Select[tuple[str, int, int, bool]] = (
        sa.select(
            sa.func.substr(u.c.account, len(prefix) + 1).label("player_id"),
            sa.func.coalesce(big_sum(u.c.purchase), 0, type_=Amount()).label("purchases"),
            sa.func.coalesce(big_sum(u.c.refund), 0, type_=Amount()).label("refunds"),
            (sa.func.max(u.c.active) == 1).label("active"),
        )
        .group_by(u.c.account)
        .order_by(u.c.account)
    )
    return query


def transfers_per_day(kind: TransferKind, since: datetime) -> sa.Select[tuple[str, str, int]]:
    """The statement counting settled transfers of ``kind`` since ``since`` per UTC day and
    asset (rows ``(day, asset, count)``)."""
    day = utc_day(_T.created_at)
    return (
        sa.select(day, _T.asset, sa.func.count())
        .where(_T.kind == str(kind), _T.created_at >= since, SETTLED)
        .group_by(day, _T.asset)
    )


async def accounts_with_prefix(conn: AsyncConnection, prefix: str, limit: int) -> list[str]:
    """Up to ``limit`` account ids starting with ``prefix`` (taken literally), sorted."""
    accounts = accounts_table.c
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = await conn.execute(
        sa.select(accounts.id)
        .where(accounts.id.like(f"{escaped}%", escape="\\"))
        .order_by(accounts.id)
        .limit(limit)
    )
    return [str(row[0]) for row in rows]
