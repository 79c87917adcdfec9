"""System accounts' balances equal the sum of their transfers after random concurrent postings.

On PostgreSQL a system account's balance is spread over slots (no hot row); on SQLite it is one
row. Either way, after any mix of transfers, batches and holds (some racing each other), every
system account's ``balance()`` must equal its settled credits minus its settled debits as the
transfer log tells them, players must never be below zero, and ``verify()`` must pass.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gamepay.core.accounts import AccountKind, player_account
from gamepay.core.assets import Currency
from gamepay.core.transfers import TransferSpec
from gamepay.errors import InsufficientFunds
from gamepay.ledger import Ledger
from gamepay.store import Store
from gamepay.testing import fresh_postgres_database, sqlite_url
from tests.support.ledger import migrated

GOLD = Currency("gold")
PLAYERS = 4
_runs = itertools.count()

# (kind, debit index, credit index, amount): indexes into the example's accounts below
ACCOUNTS = ("issuer", "revenue", "pool", "world", "p0", "p1", "p2", "p3")
SYSTEM = ACCOUNTS[:4]
postings = st.lists(
    st.tuples(
        st.sampled_from(["transfer", "batch", "hold-post", "hold-void"]),
        st.integers(0, len(ACCOUNTS) - 1),
        st.integers(0, len(ACCOUNTS) - 1),
        st.integers(1, 500),
    ),
    min_size=1,
    max_size=40,
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def migrated_url(
    request: pytest.FixtureRequest, tmp_path: Path, pg_server: str | None
) -> Iterator[str]:
    """A migrated database of each backend for the whole hypothesis run."""
    if request.param == "sqlite":
        yield migrated(sqlite_url(tmp_path / "props.db"))
        return
    if pg_server is None:
        pytest.skip("GAMEPAY_TEST_POSTGRES_URL is not set")
    loop = asyncio.new_event_loop()
    manager = fresh_postgres_database(pg_server)
    try:
        url = loop.run_until_complete(manager.__aenter__())
        yield migrated(url)
    finally:
        loop.run_until_complete(manager.__aexit__(None, None, None))
        loop.close()


@pytest.fixture
def pg_server() -> str | None:
    """The PostgreSQL server URL, or None (the conftest's CI check makes it required there)."""
    return os.environ.get("GAMEPAY_TEST_POSTGRES_URL")


async def _scenario(url: str, moves: list[tuple[str, int, int, int]], race: int) -> None:
    store = await Store.connect(url, pool_size=8)
    ledger = Ledger(store)
    run = next(_runs)
    names = {
        "issuer": f"issuer:r{run}",
        "revenue": f"revenue:r{run}",
        "pool": f"pool:r{run}",
        "world": f"world:r{run}",
        **{f"p{i}": player_account(f"r{run}-p{i}") for i in range(PLAYERS)},
    }
    try:
        await ledger.register_asset(GOLD)
        for role, account in names.items():
            if role in ("issuer", "world"):
                await ledger.open_account(account, kind=AccountKind.SYSTEM, allow_negative=True)
            elif role in ("revenue", "pool"):
                await ledger.open_account(account, kind=AccountKind.SYSTEM)
            else:
                await ledger.open_account(account)
        funding = [
            TransferSpec(names["issuer"], names[f"p{i}"], GOLD.id, 2_000, kind="grant")
            for i in range(PLAYERS)
        ]
        funding.append(TransferSpec(names["issuer"], names["pool"], GOLD.id, 1_000, kind="grant"))
        await ledger.batch(f"fund-r{run}", funding)

        async def one(n: int, kind: str, debit: str, credit: str, amount: int) -> None:
            spec = TransferSpec(debit, credit, GOLD.id, amount)
            op_id = f"r{run}-{n}"
            try:
                if kind == "transfer":
                    await ledger.transfer(op_id, spec)
                elif kind == "batch":
                    back = TransferSpec(credit, debit, GOLD.id, max(1, amount // 3))
                    await ledger.batch(op_id, [spec, back])
                else:
                    await ledger.hold(op_id, spec)
                    if kind == "hold-post":
                        await ledger.post(op_id, max(1, amount // 2))
                    else:
                        await ledger.void(op_id)
            except InsufficientFunds:
                pass

        jobs = [
            (n, kind, names[ACCOUNTS[d]], names[ACCOUNTS[c]], amount)
            for n, (kind, d, c, amount) in enumerate(moves)
            if d != c
        ]
        for start in range(0, len(jobs), race):
            await asyncio.gather(*(one(*job) for job in jobs[start : start + race]))

        for role in SYSTEM:
            account = names[role]
            total, cursor = 0, None
            while True:
                page = await ledger.history(account, asset_id=GOLD.id, cursor=cursor, limit=100)
                for t in page.entries:
                    total += t.amount if t.credit == account else -t.amount
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
            balance = await ledger.balance(account, GOLD.id)
            assert balance.available == total, (role, balance, total)
            assert balance.held == 0, role  # every hold here is posted or voided at once
            if role in ("revenue", "pool"):
                assert balance.available >= 0, role
        for i in range(PLAYERS):
            assert (await ledger.balance(names[f"p{i}"], GOLD.id)).available >= 0
        report = await ledger.verify()
        assert report.ok, report.problems
    finally:
        await store.close()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(moves=postings, race=st.integers(1, 8))
def test_system_balances_equal_the_sum_of_their_transfers(
    migrated_url: str, moves: list[tuple[str, int, int, int]], race: int
) -> None:
    """After random postings (up to 8 racing at once), each system account's balance is its
    settled credits minus its settled debits; no player or guarded account is below zero."""
    asyncio.run(_scenario(migrated_url, moves, race))
