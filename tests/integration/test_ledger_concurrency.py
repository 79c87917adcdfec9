"""Concurrent spends on PostgreSQL: row locks and retries never let a player's balance overdraw."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest

from gamepay.core.accounts import AccountKind, player_account
from gamepay.core.assets import Currency
from gamepay.core.transfers import TransferSpec
from gamepay.errors import InsufficientFunds
from gamepay.ledger import Balance, Ledger
from gamepay.store import Store
from gamepay.testing import fresh_postgres_database

pytestmark = pytest.mark.postgres

GOLD = Currency("gold")
ISSUER = "issuer:currency:gold"
ALICE = player_account("alice")
SHOP = "revenue"
POOL = 40
"""Connections racing at once: the server (max_connections=100) is shared with other tests."""


@pytest.fixture
async def ledger(pg_url: str) -> AsyncIterator[Ledger]:
    """A ledger on a fresh PostgreSQL database with a pool of POOL connections."""
    async with fresh_postgres_database(pg_url) as url:
        store = await Store.connect(url, pool_size=POOL, max_overflow=0, max_retries=50)
        await store.migrate()
        led = Ledger(store)
        await led.register_asset(GOLD)
        await led.open_account(ISSUER, kind=AccountKind.SYSTEM, allow_negative=True)
        await led.open_account(SHOP, kind=AccountKind.SYSTEM)
        await led.open_account(ALICE)
        try:
            yield led
        finally:
            await store.close()


async def _race(ledger: Ledger, jobs: list[tuple[str, str, int]]) -> list[bool]:
    """Start every (op, id, amount) at once; True where it succeeded, False on InsufficientFunds."""
    gate = asyncio.Event()

    async def one(op: str, op_id: str, amount: int) -> bool:
        await gate.wait()
        spec = TransferSpec(ALICE, SHOP, GOLD.id, amount, kind="purchase")
        try:
            if op == "transfer":
                await ledger.transfer(op_id, spec)
            elif op == "hold":
                await ledger.hold(op_id, spec)
            else:
                await ledger.batch(op_id, [spec])
        except InsufficientFunds:
            return False
        return True

    tasks = [asyncio.create_task(one(*job)) for job in jobs]
    await asyncio.sleep(0.05)
    gate.set()
    return list(await asyncio.gather(*tasks))


async def test_250_unit_spends_on_100_units(ledger: Ledger) -> None:
    """250 concurrent spends of 1 against a balance of 100: exactly 100 succeed, none overdraw."""
    await ledger.transfer("fund", TransferSpec(ISSUER, ALICE, GOLD.id, 100, kind="grant"))
    results = await _race(ledger, [("transfer", f"spend-{i}", 1) for i in range(250)])
    assert sum(results) == 100
    assert await ledger.balance(ALICE, GOLD.id) == Balance(0, 0)
    assert await ledger.balance(SHOP, GOLD.id) == Balance(100, 0)
    report = await ledger.verify()
    assert report.ok, report.problems


async def test_mixed_transfers_batches_and_holds_race(ledger: Ledger) -> None:
    """240 concurrent transfers, batches and holds of random sizes never overdraw the player."""
    await ledger.transfer("fund", TransferSpec(ISSUER, ALICE, GOLD.id, 1_000, kind="grant"))
    rng = random.Random(7)
    jobs = [
        (rng.choice(["transfer", "hold", "batch"]), f"op-{i}", rng.randint(1, 12))
        for i in range(240)
    ]
    results = await _race(ledger, jobs)
    spent = sum(amount for (_, _, amount), ok in zip(jobs, results, strict=True) if ok)
    held = sum(a for (op, _, a), ok in zip(jobs, results, strict=True) if ok and op == "hold")
    failed = [amount for (_, _, amount), ok in zip(jobs, results, strict=True) if not ok]
    balance = await ledger.balance(ALICE, GOLD.id)
    assert spent <= 1_000
    assert balance == Balance(1_000 - spent, held)
    assert balance.available >= 0
    assert failed, "the race should exhaust the balance"
    assert balance.available < min(failed)  # every refused spend is still unaffordable
    assert (await ledger.verify()).ok


async def test_concurrent_replays_of_one_id_apply_once(ledger: Ledger) -> None:
    """30 concurrent submissions of the same transfer id move the money exactly once."""
    await ledger.transfer("fund", TransferSpec(ISSUER, ALICE, GOLD.id, 100, kind="grant"))
    results = await _race(ledger, [("transfer", "same-id", 7) for _ in range(30)])
    assert all(results)
    assert await ledger.balance(ALICE, GOLD.id) == Balance(93, 0)
    assert (await ledger.verify()).ok
