"""The ledger tests' shared world: gold, the accounts, a step clock and a ready ledger."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from gamepay.core.accounts import AccountKind, player_account
from gamepay.core.assets import Currency, Token
from gamepay.core.transfers import TransferSpec
from gamepay.ledger import Ledger
from gamepay.store import Store

GOLD = Currency("gold")
USDT = Token("arb", "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9", "USDT", 6)
ISSUER = "issuer:currency:gold"
ALICE = player_account("alice")
BOB = player_account("bob")
REVENUE = "revenue"
START = datetime(2026, 1, 1, tzinfo=UTC)


class StepClock:
    """A clock that advances one second per reading, so created_at values are distinct."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        """The next second."""
        self.now += timedelta(seconds=1)
        return self.now


def gold(debit: str, credit: str, amount: int, **kw: Any) -> TransferSpec:
    """A gold transfer spec."""
    return TransferSpec(debit, credit, GOLD.id, amount, **kw)


@asynccontextmanager
async def migrated_store(db_url: str) -> AsyncIterator[Store]:
    """A migrated store on ``db_url``, closed on exit."""
    store = await Store.connect(db_url)
    try:
        await store.migrate()
        yield store
    finally:
        await store.close()


async def gold_ledger(store: Store) -> Ledger:
    """A ledger on a step clock with gold, a negative-allowed issuer, revenue, alice and bob."""
    ledger = Ledger(store, clock=StepClock())
    await ledger.register_asset(GOLD)
    await ledger.open_account(ISSUER, kind=AccountKind.SYSTEM, allow_negative=True)
    await ledger.open_account(REVENUE, kind=AccountKind.SYSTEM)
    await ledger.open_account(ALICE)
    await ledger.open_account(BOB)
    return ledger


def migrated(url: str) -> str:
    """Migrate the database at ``url`` from synchronous code (a Hypothesis machine); returns it."""

    async def go() -> None:
        store = await Store.connect(url)
        try:
            await store.migrate()
        finally:
            await store.close()

    asyncio.run(go())
    return url
