"""Trades as data and their ``gp_trades`` rows: the records, reads and the one conditional move.

A trade's row leaves ``open`` only through :func:`close`, an ``UPDATE ... WHERE id = :id AND
status = 'open'``: on PostgreSQL concurrent updaters queue on the row lock and re-check the
condition once the first commits (READ COMMITTED), on SQLite writers are serialized, so exactly
one caller sees ``rowcount == 1`` and only that caller writes the ledger moves.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.core.trades import Role, TradeStatus
from gamepay.store.rows import RowInsert
from gamepay.store.schema.trades import trades_table

__all__ = [
    "Trade",
    "TradeLine",
    "by_key",
    "close",
    "get",
    "insert",
    "lines_text",
    "listing",
    "open_due",
]

_T = trades_table.c
_INSERT = RowInsert(trades_table, tuple(_T.keys()), conflict=("from_player", "offer_key"))


@dataclass(frozen=True, slots=True)
class TradeLine:
    """``amount`` base units of the asset ``asset`` (an asset id such as ``item:sword``)."""

    asset: str
    amount: int


@dataclass(frozen=True, slots=True)
class Trade:
    """One trade as stored: who offers what to whom, until when, and how it ended."""

    id: str
    from_player: str
    to_player: str
    give: tuple[TradeLine, ...]
    want: tuple[TradeLine, ...]
    status: TradeStatus
    created_at: datetime
    expires_at: datetime
    offer_key: str
    closed_at: datetime | None = None
    closed_by: str | None = None
    closed_key: str | None = None

    def role_of(self, player_id: str) -> Role | None:
        """The player's part in this trade: proposer, recipient, or None (a stranger)."""
        if player_id == self.from_player:
            return Role.PROPOSER
        if player_id == self.to_player:
            return Role.RECIPIENT
        return None


def lines_text(lines: Sequence[TradeLine]) -> str:
    """The JSON text a side is stored as: ``[[asset id, "base units"], ...]``."""
    return json.dumps([[line.asset, str(line.amount)] for line in lines], separators=(",", ":"))


def _lines(text: str) -> tuple[TradeLine, ...]:
    return tuple(TradeLine(str(asset), int(amount)) for asset, amount in json.loads(text))


def _trade(row: Any) -> Trade:
    return Trade(
        id=row.id,
        from_player=row.from_player,
        to_player=row.to_player,
        give=_lines(row.give),
        want=_lines(row.want),
        status=TradeStatus(row.status),
        created_at=row.created_at,
        expires_at=row.expires_at,
        offer_key=row.offer_key,
        closed_at=row.closed_at,
        closed_by=row.closed_by,
        closed_key=row.closed_key,
    )


async def insert(conn: AsyncConnection, trade: Trade) -> bool:
    """Write a new open trade; False when its proposer already used its ``offer_key``."""
    return await _INSERT.insert(
        conn,
        {
            "id": trade.id,
            "from_player": trade.from_player,
            "to_player": trade.to_player,
            "offer_key": trade.offer_key,
            "give": lines_text(trade.give),
            "want": lines_text(trade.want),
            "status": str(trade.status),
            "created_at": trade.created_at,
            "expires_at": trade.expires_at,
        },
    )


async def get(conn: AsyncConnection, trade_id: str) -> Trade | None:
    """The trade with that id, or None."""
    row = (await conn.execute(select(trades_table).where(_T.id == trade_id))).first()
    return None if row is None else _trade(row)


async def by_key(conn: AsyncConnection, from_player: str, offer_key: str) -> Trade | None:
    """The trade ``from_player`` offered under ``offer_key``, or None."""
    query = select(trades_table).where(_T.from_player == from_player, _T.offer_key == offer_key)
    row = (await conn.execute(query)).first()
    return None if row is None else _trade(row)


async def close(
    conn: AsyncConnection,
    trade_id: str,
    target: TradeStatus,
    now: datetime,
    *,
    by: str | None,
    key: str | None,
    unless_due: bool,
) -> bool:
    """Move an open trade to ``target``; True only for the one caller whose update found it
    open (and, with ``unless_due``, not yet due at ``now``)."""
    condition = and_(_T.id == trade_id, _T.status == str(TradeStatus.OPEN))
    if unless_due:
        condition = and_(condition, _T.expires_at > now)
    result = await conn.execute(
        update(trades_table)
        .where(condition)
        .values(status=str(target), closed_at=now, closed_by=by, closed_key=key)
    )
    return bool(result.rowcount == 1)


async def open_due(conn: AsyncConnection, now: datetime, limit: int) -> list[str]:
    """Ids of open trades whose ``expires_at`` has passed at ``now``, soonest first."""
    query = (
        select(_T.id)
        .where(_T.status == str(TradeStatus.OPEN), _T.expires_at <= now)
        .order_by(_T.expires_at, _T.id)
        .limit(limit)
    )
    return [row.id for row in await conn.execute(query)]


async def listing(
    conn: AsyncConnection, player_id: str, now: datetime, *, open_only: bool, limit: int
) -> list[Trade]:
    """The player's trades (offered or received), newest first; ``open_only``: those still
    open and not yet due at ``now``."""
    query = select(trades_table).where(or_(_T.from_player == player_id, _T.to_player == player_id))
    if open_only:
        query = query.where(_T.status == str(TradeStatus.OPEN), _T.expires_at > now)
    query = query.order_by(_T.created_at.desc(), _T.id.desc()).limit(limit)
    return [_trade(row) for row in await conn.execute(query)]
