"""The console's read layer: every figure a page shows, read through the areas' own queries.

No page touches a table: the statements are the areas' (``gamepay.payments.repository``,
``gamepay.withdrawals.repository``, ``gamepay.rewards.repository``, ``gamepay.ledger.reads``);
this module only runs them on the economy's store and shapes the rows for the templates.
Amounts are exact integers formatted with their asset's decimals, never floats.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.core.assets import Asset
from gamepay.core.intents import OrderStatus
from gamepay.core.money import format_amount
from gamepay.core.transfers import TransferKind
from gamepay.ledger.reads import accounts_with_prefix, transfers_per_day
from gamepay.ledger.rows import asset_code
from gamepay.payments.records import Order, StatusMove
from gamepay.payments.repository import (
    callbacks_per_day,
    list_orders,
    orders_by_kind_and_status,
    orders_per_day,
    status_log,
)
from gamepay.rewards.repository import paid_payouts_by_program, payouts_per_day
from gamepay.store import Store
from gamepay.withdrawals.repository import withdrawals_by_status, withdrawals_per_day

__all__ = [
    "Daily",
    "Totals",
    "daily_figures",
    "money",
    "order_page",
    "order_status_log",
    "players_like",
    "symbol_of",
    "totals",
]


def symbol_of(asset: Asset | None, asset_id: str) -> str:
    """The short name shown beside an amount: a token's symbol, a currency's code, an item's
    sku; the id itself for an unknown asset."""
    return asset_id if asset is None else asset_code(asset)


def money(units: int, asset: Asset | None, asset_id: str) -> str:
    """``units`` of an asset as an exact decimal string with its symbol (``9.23 USDT``)."""
    decimals = asset.decimals if asset is not None else 0
    return f"{format_amount(units, decimals)} {symbol_of(asset, asset_id)}"


async def _grouped(store: Store, query: Select[Any]) -> dict[str, dict[str, int]]:
    """Rows ``(day, series, count)`` as ``{series: {day: count}}``."""

    async def run(conn: AsyncConnection) -> list[Any]:
        return list(await conn.execute(query))

    found: dict[str, dict[str, int]] = defaultdict(dict)
    for day, series, count in await store.read(run):
        per_day = found[str(series)]
        per_day[str(day)] = per_day.get(str(day), 0) + int(count)
    return dict(found)


@dataclass(frozen=True)
class Daily:
    """Per-day counts since a moment, each chart's ``{series: {day: count}}``."""

    orders: dict[str, dict[str, int]]
    grants: dict[str, dict[str, int]]
    callbacks: dict[str, dict[str, int]]
    withdrawals: dict[str, dict[str, int]]
    payouts: dict[str, dict[str, int]]


async def daily_figures(store: Store, since: datetime) -> Daily:
    """Orders by status, grants (by asset), callbacks (by the status they moved to),
    withdrawals by status and reward payouts (by program) per UTC day since ``since``."""
    return Daily(
        orders=await _grouped(store, orders_per_day(since)),
        grants=await _grouped(store, transfers_per_day(TransferKind.GRANT, since)),
        callbacks=await _grouped(store, callbacks_per_day(since)),
        withdrawals=await _grouped(store, withdrawals_per_day(since)),
        payouts=await _grouped(store, payouts_per_day(since)),
    )


@dataclass(frozen=True)
class Totals:
    """Counts now: orders by status, withdrawals by status, reward payouts paid by program."""

    orders: dict[str, int]
    withdrawals: dict[str, int]
    payouts: dict[str, int]


def _summed(rows: Iterable[Any]) -> dict[str, int]:
    """Rows ``(..., key, count)`` summed per key."""
    found: dict[str, int] = defaultdict(int)
    for row in rows:
        found[str(row[-2])] += int(row[-1])
    return dict(sorted(found.items()))


async def totals(store: Store) -> Totals:
    """The counts of :class:`Totals`, read now."""

    async def run(conn: AsyncConnection) -> Totals:
        return Totals(
            orders=_summed(await conn.execute(orders_by_kind_and_status())),
            withdrawals=_summed(await conn.execute(withdrawals_by_status())),
            payouts=_summed(await conn.execute(paid_payouts_by_program())),
        )

    result: Totals = await store.read(run)
    return result


async def order_page(
    store: Store,
    *,
    status: str | None,
    since: datetime | None,
    until: datetime | None,
    offset: int,
    limit: int,
) -> list[Order]:
    """One page of orders (newest first) matching the filters."""
    wanted = OrderStatus(status) if status else None

    async def run(conn: AsyncConnection) -> list[Order]:
        return await list_orders(
            conn, status=wanted, since=since, until=until, limit=limit, offset=offset
        )

    result: list[Order] = await store.read(run)
    return result


async def order_status_log(store: Store, order_id: str) -> list[StatusMove]:
    """Every status move applied to an order, oldest first."""

    async def run(conn: AsyncConnection) -> list[StatusMove]:
        return await status_log(conn, order_id)

    result: list[StatusMove] = await store.read(run)
    return result


async def players_like(store: Store, prefix: str, limit: int = 20) -> list[str]:
    """Player ids starting with ``prefix`` (from the ledger's accounts), sorted."""

    async def run(conn: AsyncConnection) -> list[str]:
        return await accounts_with_prefix(conn, f"player:{prefix}", limit)

    accounts: list[str] = await store.read(run)
    return [account.removeprefix("player:") for account in accounts]


def by_id(assets: Mapping[str, Asset], asset_id: str) -> Asset | None:
    """The asset of ``asset_id`` among ``assets``, if registered."""
    return assets.get(asset_id)
