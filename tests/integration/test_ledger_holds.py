"""Holds as immutable transfers, the ledger's reads for other areas, and revision 0005, on
SQLite and PostgreSQL (``db_url``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from importlib.resources import files
from typing import Any

import pytest
from sqlalchemy import text, update

from gamepay.core.accounts import AccountKind
from gamepay.core.assets import Currency, Token
from gamepay.core.money import MAX_AMOUNT
from gamepay.errors import AccountMismatch, AmountRangeError
from gamepay.ledger import Balance, HoldStatus, Ledger, TransferPhase
from gamepay.ledger.reads import player_activity
from gamepay.store import Store
from gamepay.store.schema.ledger import holds_table
from tests.support.ledger import (
    ALICE,
    BOB,
    GOLD,
    ISSUER,
    START,
    USDT,
    gold,
    gold_ledger,
    migrated_store,
)


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    """A migrated store on the current backend."""
    async with migrated_store(db_url) as s:
        yield s


@pytest.fixture
async def ledger(store: Store) -> Ledger:
    """A ledger with gold, a negative-allowed issuer, revenue, alice (holding 100) and bob."""
    led = await gold_ledger(store)
    await led.transfer("fund", gold(ISSUER, ALICE, 100, kind="grant"))
    return led


async def test_every_hold_move_writes_a_linked_transfer(ledger: Ledger) -> None:
    """Hold, post and void each write one transfer linked to the hold; history shows only
    the settled ones and verify explains available and held from the transfers alone."""
    await ledger.hold("a", gold(ALICE, BOB, 30, kind="withdrawal", memo="m"))
    await ledger.hold("b", gold(ALICE, BOB, 20))
    await ledger.hold("c", gold(ALICE, BOB, 10))
    await ledger.post("a", 25)
    await ledger.void("b")
    story = {}
    for tid in ("hold:a/pending", "hold:a", "hold:b/pending", "hold:b/void", "hold:c/pending"):
        record = await ledger.get_transfer(tid)
        assert record is not None
        story[tid] = (record.hold_id, record.phase, record.amount, record.debit, record.credit)
    assert story == {
        "hold:a/pending": ("a", TransferPhase.PENDING, 30, ALICE, BOB),
        "hold:a": ("a", TransferPhase.POST, 25, ALICE, BOB),
        "hold:b/pending": ("b", TransferPhase.PENDING, 20, ALICE, BOB),
        "hold:b/void": ("b", TransferPhase.VOID, 20, ALICE, BOB),
        "hold:c/pending": ("c", TransferPhase.PENDING, 10, ALICE, BOB),
    }
    assert (await ledger.get_transfer("hold:a/pending")).memo == "m"  # type: ignore[union-attr]
    assert await ledger.get_transfer("hold:b") is None
    assert await ledger.get_transfer("hold:a/void") is None
    assert await ledger.void("b") == await ledger.get_hold("b")  # a replay writes nothing
    assert await ledger.count_transfers() == 6
    assert await ledger.balance(ALICE, GOLD.id) == Balance(65, 10)
    assert await ledger.balance(BOB, GOLD.id) == Balance(25, 0)
    page = await ledger.history(ALICE)
    assert [t.id for t in page.entries] == ["hold:a", "fund"]
    report = await ledger.verify()
    assert report.ok, report.problems
    assert report.transfers_checked == 6


async def test_verify_checks_holds_against_their_transfers(ledger: Ledger, store: Store) -> None:
    """A gp_holds row that says something its transfers do not is a verify problem."""
    await ledger.hold("a", gold(ALICE, BOB, 30))
    await ledger.hold("b", gold(ALICE, BOB, 20))
    await ledger.post("b")
    assert (await ledger.verify()).ok
    async with store.transaction() as conn:
        await conn.execute(
            update(holds_table).where(holds_table.c.id == "a").values(status="voided")
        )
        await conn.execute(
            update(holds_table).where(holds_table.c.id == "b").values(posted_amount=19)
        )
    problems = (await ledger.verify()).problems
    assert any("hold a: stored voided, transfers say pending" in p for p in problems)
    assert any("hold b: posted 19, transfers say 20" in p for p in problems)


async def test_settled_activity_ignores_pending_and_void(ledger: Ledger, store: Store) -> None:
    """The ledger's activity query counts a posted purchase hold, never a pending or a void."""
    await ledger.open_account("revenue", kind=AccountKind.SYSTEM)
    await ledger.hold("p1", gold(ALICE, "revenue", 7, kind="purchase"))
    await ledger.hold("p2", gold(ALICE, "revenue", 5, kind="purchase"))
    await ledger.hold("p3", gold(ALICE, "revenue", 3, kind="purchase"))
    await ledger.void("p2")
    query = player_activity(GOLD.id, START, START + timedelta(days=1), "player:")

    async def read(conn: Any) -> list[Any]:
        return list(await conn.execute(query))

    assert await store.read(read) == []
    await ledger.post("p1", 6)
    rows = await store.read(read)
    assert [(r.player_id, int(r.purchases), int(r.refunds), bool(r.active)) for r in rows] == [
        ("alice", 6, 0, True)
    ]


async def test_assets_answer_from_the_cache(ledger: Ledger, store: Store) -> None:
    """get_assets returns registered assets as defined; a known asset is re-registered from the
    cache (no database), and another definition under its id is refused from the cache too."""
    await ledger.register_asset(USDT)
    assert await ledger.get_assets([USDT.id, GOLD.id, "item:none"]) == {
        GOLD.id: GOLD,
        USDT.id: USDT,
    }
    other = Ledger(store)
    assert await other.get_assets() == {GOLD.id: GOLD, USDT.id: USDT}
    assert await other.get_assets([USDT.id]) == {USDT.id: USDT}

    async def no_database(*_: object, **__: object) -> None:
        raise AssertionError("the cache should have answered")

    ledger.store.run = no_database  # type: ignore[method-assign]
    assert await ledger.register_asset(GOLD) == GOLD
    lower = Token("arb", USDT.address.lower(), "USDT", 6)
    assert await ledger.register_asset(lower) == lower
    with pytest.raises(AccountMismatch):
        await ledger.register_asset(Currency("gold", 2))
    with pytest.raises(AccountMismatch):
        await other.register_asset(Token("arb", USDT.address, "USDC", 6))


async def test_available_for_update(ledger: Ledger, store: Store) -> None:
    """available_for_update reads the available balance (0 when untouched) inside a write."""

    async def read(conn: Any) -> tuple[int, int]:
        alice = await ledger.available_for_update(ALICE, GOLD.id, conn=conn)
        bob = await ledger.available_for_update(BOB, GOLD.id, conn=conn)
        return alice, bob

    await ledger.hold("h", gold(ALICE, BOB, 40))
    assert await store.run(read) == (60, 0)


async def test_revision_0005_writes_the_transfers_of_existing_holds(db_url: str) -> None:
    """Holds made before revision 0005 get their pending (and void) transfers, posts their
    phase, and verify() passes on the upgraded ledger."""
    from alembic import command
    from alembic.config import Config

    s = await Store.connect(db_url)
    config = Config()
    config.set_main_option("script_location", str(files("gamepay.store") / "migrations"))

    def to_0001(sync_conn: Any) -> None:
        config.attributes["connection"] = sync_conn
        command.upgrade(config, "0001_ledger")

    at = "2026-01-01 00:00:00"
    async with s.engine.begin() as conn:
        await conn.run_sync(to_0001)
        for sql in (
            "INSERT INTO gp_assets VALUES ('currency:gold', 'currency', 'gold', 0, NULL, NULL)",
            f"INSERT INTO gp_accounts VALUES ('{ISSUER}', 'system', true, '{at}')",
            f"INSERT INTO gp_accounts VALUES ('{ALICE}', 'player', false, '{at}')",
            f"INSERT INTO gp_accounts VALUES ('{BOB}', 'player', false, '{at}')",
            "INSERT INTO gp_transfers (id, debit, credit, asset, amount, kind, created_at)"
            f" VALUES ('fund', '{ISSUER}', '{ALICE}', 'currency:gold', 100, 'grant', '{at}')",
            "INSERT INTO gp_holds VALUES"
            f" ('a', '{ALICE}', '{BOB}', 'currency:gold', 30, 25, 'posted', 'transfer', NULL,"
            f" '{at}', '{at}'),"
            f" ('b', '{ALICE}', '{BOB}', 'currency:gold', 20, NULL, 'voided', 'transfer', NULL,"
            f" '{at}', '{at}'),"
            f" ('c', '{ALICE}', '{BOB}', 'currency:gold', 10, NULL, 'pending', 'transfer', NULL,"
            f" '{at}', NULL)",
            "INSERT INTO gp_transfers (id, hold_id, debit, credit, asset, amount, kind, created_at)"
            f" VALUES ('hold:a', 'a', '{ALICE}', '{BOB}', 'currency:gold', 25, 'transfer', '{at}')",
            "INSERT INTO gp_balances VALUES"
            f" ('{ISSUER}', 'currency:gold', -100, 0), ('{ALICE}', 'currency:gold', 65, 10),"
            f" ('{BOB}', 'currency:gold', 25, 0)",
        ):
            await conn.execute(text(sql))
    try:
        await s.migrate()
        led = Ledger(s)
        report = await led.verify()
        assert report.ok, report.problems
        assert report.transfers_checked == 6
        post = await led.get_transfer("hold:a")
        assert post is not None
        assert post.phase is TransferPhase.POST
        void = await led.get_transfer("hold:b/void")
        assert void is not None
        assert (void.amount, void.hold_id) == (20, "b")
        assert (await led.get_hold("c")).status is HoldStatus.PENDING
        await led.post("c")
        assert await led.balance(BOB, GOLD.id) == Balance(35, 0)
        assert (await led.verify()).ok
    finally:
        await s.close()


async def test_a_void_that_would_pass_the_range_is_refused_and_changes_nothing(
    ledger: Ledger,
) -> None:
    """alice holds 30, then receives enough that voiding would put her available above
    2**256-1: the void is AmountRangeError, the hold stays pending, nothing moved; once she
    spends, the same void goes through."""
    await ledger.open_account("mint", kind=AccountKind.SYSTEM, allow_negative=True)
    await ledger.hold("h", gold(ALICE, BOB, 30))
    await ledger.transfer("top", gold("mint", ALICE, MAX_AMOUNT - 80, kind="grant"))
    before = await ledger.balance(ALICE, GOLD.id)
    assert (before.available, before.held) == (MAX_AMOUNT - 10, 30)
    with pytest.raises(AmountRangeError):
        await ledger.void("h")
    after = await ledger.balance(ALICE, GOLD.id)
    assert (after.available, after.held) == (before.available, before.held)
    assert (await ledger.get_hold("h")).status is HoldStatus.PENDING
    await ledger.transfer("spend", gold(ALICE, BOB, 100))
    assert (await ledger.void("h")).status is HoldStatus.VOIDED
    assert (await ledger.verify()).ok
