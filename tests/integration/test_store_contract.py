"""The store and ledger contract, run on SQLite and on PostgreSQL through the ``db_url`` fixture."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.core.accounts import AccountKind, player_account
from gamepay.core.assets import Currency, Item, Token
from gamepay.core.money import MAX_AMOUNT
from gamepay.core.transfers import TransferKind, TransferSpec
from gamepay.errors import (
    AccountError,
    AccountMismatch,
    AccountNotFound,
    AmountRangeError,
    AmountTypeError,
    AssetNotFound,
    ConfigError,
    HoldNotFound,
    HoldStateError,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidInput,
)
from gamepay.ledger import Balance, HoldStatus, Ledger
from gamepay.store import Store, big_sum
from gamepay.store.schema.ledger import balances_table, transfers_table
from tests.support.ledger import (
    ALICE,
    BOB,
    GOLD,
    ISSUER,
    REVENUE,
    USDT,
    gold,
    gold_ledger,
    migrated_store,
)

SWORD = Item("sword")


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    """A migrated store on the current backend."""
    async with migrated_store(db_url) as s:
        yield s


@pytest.fixture
async def ledger(store: Store) -> Ledger:
    """A ledger with gold registered, a negative-allowed issuer, alice, bob and revenue."""
    return await gold_ledger(store)


async def fund(ledger: Ledger, who: str, amount: int, tid: str = "fund") -> None:
    """Grant gold to an account from the issuer."""
    await ledger.transfer(f"{tid}-{who}", gold(ISSUER, who, amount, kind="grant"))


# ---------------------------------------------------------------- store


async def test_connect_reports_dialect_and_migrate_is_idempotent(
    store: Store, backend: str
) -> None:
    """connect picks the backend's dialect; migrate twice leaves one version row per head."""
    assert store.dialect == backend
    await store.migrate()
    async with store.transaction() as conn:
        rows = (await conn.execute(text("SELECT version_num FROM gamepay_alembic_version"))).all()
    # other areas branch off 0001_ledger, so the version table holds the heads, one row each
    from importlib.resources import files

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(files("gamepay.store") / "migrations"))
    script = ScriptDirectory.from_config(config)
    assert sorted(r[0] for r in rows) == sorted(script.get_heads())
    assert any(rev.revision == "0001_ledger" for rev in script.walk_revisions())


async def test_bad_urls_are_config_errors() -> None:
    """Unsupported backends and in-memory SQLite are refused with ConfigError."""
    with pytest.raises(ConfigError):
        await Store.connect("mysql://root@localhost/db")
    with pytest.raises(ConfigError):
        await Store.connect("sqlite://")
    with pytest.raises(ConfigError):
        await Store.connect("not a url")


async def test_transaction_commits_and_rolls_back(ledger: Ledger, store: Store) -> None:
    """A ledger write inside a failing transaction leaves nothing behind; a clean one commits."""

    async def failing(conn: AsyncConnection) -> None:
        await ledger.transfer("t-rb", gold(ISSUER, ALICE, 5), conn=conn)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await store.run(failing)
    assert await ledger.balance(ALICE, GOLD.id) == Balance(0, 0)
    assert await ledger.get_transfer("t-rb") is None

    async with store.transaction() as conn:
        await ledger.transfer("t-ok", gold(ISSUER, ALICE, 5), conn=conn)
    assert await ledger.balance(ALICE, GOLD.id) == Balance(5, 0)


async def test_run_returns_the_function_result(store: Store) -> None:
    """store.run hands back whatever fn returns."""

    async def fn(conn: AsyncConnection) -> int:
        return int((await conn.execute(text("SELECT 41 + 1"))).scalar_one())

    assert await store.run(fn) == 42


async def test_big_sum_is_exact(ledger: Ledger, store: Store) -> None:
    """big_sum adds amounts beyond 64 bits (and beyond float precision) exactly on both backends."""
    await ledger.open_account("world:arb", kind=AccountKind.SYSTEM, allow_negative=True)
    await fund(ledger, ALICE, 2**255, "a")
    await ledger.transfer("b", gold("world:arb", BOB, 2**255 - 1, kind="grant"))
    await ledger.transfer("c", gold("world:arb", REVENUE, 3, kind="grant"))
    async with store.transaction() as conn:
        total = (
            await conn.execute(
                select(big_sum(transfers_table.c.amount)).where(transfers_table.c.kind == "grant")
            )
        ).scalar_one()
        empty = (
            await conn.execute(
                select(big_sum(transfers_table.c.amount)).where(transfers_table.c.kind == "x")
            )
        ).scalar_one()
    assert total == 2**256 + 2
    assert empty is None


async def test_max_amount_round_trips_as_amount_and_balance(ledger: Ledger) -> None:
    """2**256 - 1 survives as an amount and as a balance (and its negative as the issuer's)."""
    record = await ledger.transfer("max", gold(ISSUER, ALICE, MAX_AMOUNT))
    assert record.amount == MAX_AMOUNT
    fetched = await ledger.get_transfer("max")
    assert fetched is not None
    assert fetched.amount == MAX_AMOUNT
    assert await ledger.balance(ALICE, GOLD.id) == Balance(MAX_AMOUNT, 0)
    assert await ledger.balance(ISSUER, GOLD.id) == Balance(-MAX_AMOUNT, 0)
    await ledger.hold("h-max", gold(ALICE, BOB, MAX_AMOUNT))
    assert await ledger.balance(ALICE, GOLD.id) == Balance(0, MAX_AMOUNT)
    await ledger.post("h-max")
    assert await ledger.balance(BOB, GOLD.id) == Balance(MAX_AMOUNT, 0)
    assert (await ledger.verify()).ok


async def test_balances_may_not_leave_the_uint256_range(ledger: Ledger) -> None:
    """A transfer that would push a balance beyond +-(2**256-1) is refused and changes nothing."""
    await ledger.transfer("max", gold(ISSUER, ALICE, MAX_AMOUNT))
    with pytest.raises(AmountRangeError):
        await ledger.transfer("over", gold(ISSUER, ALICE, 1))
    with pytest.raises(AmountRangeError):
        await ledger.transfer("under", gold(ISSUER, BOB, 1))
    with pytest.raises(AmountRangeError):
        await ledger.batch("b-under", [gold(ISSUER, BOB, 1)])
    assert await ledger.balance(ALICE, GOLD.id) == Balance(MAX_AMOUNT, 0)
    assert await ledger.balance(BOB, GOLD.id) == Balance(0, 0)
    assert await ledger.transfer("max", gold(ISSUER, ALICE, MAX_AMOUNT)) is not None
    assert (await ledger.verify()).ok


# ---------------------------------------------------------------- assets and accounts


async def test_register_asset_is_idempotent_and_refuses_redefinition(ledger: Ledger) -> None:
    """Registering the same asset again is fine; another definition under its id is refused."""
    assert await ledger.register_asset(GOLD) == GOLD
    await ledger.register_asset(USDT)
    await ledger.register_asset(Token("arb", USDT.address.lower(), "USDT", 6))
    await ledger.register_asset(SWORD)
    with pytest.raises(AccountMismatch):
        await ledger.register_asset(Currency("gold", decimals=2))
    with pytest.raises(AccountMismatch):
        await ledger.register_asset(Token("arb", USDT.address, "USDT", 18))


async def test_open_account_is_idempotent_and_refuses_changes(ledger: Ledger) -> None:
    """Same properties return the account; other properties raise AccountMismatch."""
    account = await ledger.open_account(ALICE)
    assert account.id == ALICE
    assert account.kind is AccountKind.PLAYER
    assert account.allow_negative is False
    assert account.created_at.tzinfo is not None
    with pytest.raises(AccountMismatch):
        await ledger.open_account(ALICE, kind=AccountKind.SYSTEM)
    with pytest.raises(AccountMismatch):
        await ledger.open_account(ISSUER, kind=AccountKind.SYSTEM)
    assert (await ledger.get_account(ISSUER)).allow_negative is True
    with pytest.raises(AccountNotFound):
        await ledger.get_account("player:nobody")


async def test_open_account_answers_alike_from_a_fresh_ledger(ledger: Ledger, store: Store) -> None:
    """An account opened by one ledger is the same account (same created_at) to another ledger,
    and a second ledger refuses other properties just as the first, cached or not."""
    first = await ledger.open_account(player_account("carol"))
    other = Ledger(store)
    assert await other.open_account(player_account("carol")) == first
    assert await other.open_account(player_account("carol")) == first  # now from its cache
    assert await other.get_account(player_account("carol")) == first
    with pytest.raises(AccountMismatch):
        await other.open_account(player_account("carol"), kind=AccountKind.SYSTEM)
    with pytest.raises(AccountMismatch):
        await other.open_account(ISSUER, kind=AccountKind.SYSTEM)


async def test_account_cache_stays_bounded(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ledger's cache of known accounts never grows past its bound, and a ledger whose
    cache started over still checks funds correctly."""
    from gamepay.ledger import cache as cache_module

    monkeypatch.setattr(cache_module, "ACCOUNT_LIMIT", 5)
    led = Ledger(store)
    await led.register_asset(GOLD)
    await led.open_account(ISSUER, kind=AccountKind.SYSTEM, allow_negative=True)
    players = [player_account(f"p{i}") for i in range(12)]
    for account in players:
        await led.open_account(account)
        await led.transfer(f"fund-{account}", gold(ISSUER, account, 10))
        assert len(led._cache.accounts) <= 5
    for account in players:
        with pytest.raises(InsufficientFunds):
            await led.transfer(f"over-{account}", gold(account, ISSUER, 11))
        assert await led.balance(account, GOLD.id) == Balance(10, 0)
    assert (await led.verify()).ok


async def test_open_account_refuses_bad_input(ledger: Ledger) -> None:
    """Malformed ids and negative-allowed player accounts are AccountErrors."""
    with pytest.raises(AccountError):
        await ledger.open_account("has space")
    with pytest.raises(AccountError):
        await ledger.open_account("")
    with pytest.raises(AccountError):
        await ledger.open_account(player_account("carol"), allow_negative=True)
    with pytest.raises(AccountError):
        await ledger.open_account("x", kind="martian")  # type: ignore[arg-type]


# ---------------------------------------------------------------- transfers


async def test_transfer_moves_value_and_replays(ledger: Ledger) -> None:
    """A transfer moves exact value; replay returns the original; other content conflicts."""
    first = await ledger.transfer("t1", gold(ISSUER, ALICE, 100, kind="grant", memo="welcome"))
    assert first.kind is TransferKind.GRANT
    assert (first.debit, first.credit, first.amount, first.memo) == (ISSUER, ALICE, 100, "welcome")
    assert await ledger.balance(ALICE, GOLD.id) == Balance(100, 0)
    assert await ledger.balance(ISSUER, GOLD.id) == Balance(-100, 0)
    again = await ledger.transfer("t1", gold(ISSUER, ALICE, 100, kind="grant", memo="welcome"))
    assert again == first
    assert await ledger.balance(ALICE, GOLD.id) == Balance(100, 0)
    with pytest.raises(IdempotencyConflict):
        await ledger.transfer("t1", gold(ISSUER, ALICE, 101, kind="grant", memo="welcome"))
    with pytest.raises(IdempotencyConflict):
        await ledger.transfer("t1", gold(ISSUER, ALICE, 100, kind="grant", memo="other"))
    with pytest.raises(IdempotencyConflict):
        await ledger.transfer("t1", gold(ISSUER, BOB, 100, kind="grant", memo="welcome"))
    assert await ledger.balance(ALICE, GOLD.id) == Balance(100, 0)


async def test_replay_succeeds_even_when_funds_are_now_short(ledger: Ledger) -> None:
    """Replaying a spend after the balance was used elsewhere returns the original record."""
    await fund(ledger, ALICE, 10)
    spend = await ledger.transfer("spend", gold(ALICE, BOB, 10))
    assert await ledger.transfer("spend", gold(ALICE, BOB, 10)) == spend
    with pytest.raises(IdempotencyConflict):
        await ledger.transfer("spend", gold(ALICE, BOB, 9))


async def test_transfer_errors(ledger: Ledger) -> None:
    """Missing accounts/assets, short funds and bad amounts are typed errors that change nothing."""
    await fund(ledger, ALICE, 10)
    with pytest.raises(AccountNotFound):
        await ledger.transfer("e1", gold(ALICE, "player:ghost", 1))
    with pytest.raises(AccountNotFound):
        await ledger.transfer("e2", gold("player:ghost", ALICE, 1))
    with pytest.raises(AssetNotFound):
        await ledger.transfer("e3", TransferSpec(ALICE, BOB, "currency:gems", 1))
    with pytest.raises(InsufficientFunds):
        await ledger.transfer("e4", gold(ALICE, BOB, 11))
    with pytest.raises(InsufficientFunds):
        await ledger.transfer("e5", gold(REVENUE, BOB, 1))
    with pytest.raises(AmountRangeError):
        gold(ALICE, BOB, 0)
    with pytest.raises(AmountRangeError):
        gold(ALICE, BOB, -5)
    with pytest.raises(AmountRangeError):
        gold(ALICE, BOB, 2**256)
    with pytest.raises(AmountTypeError):
        gold(ALICE, BOB, 1.5)  # type: ignore[arg-type]
    with pytest.raises(AmountTypeError):
        gold(ALICE, BOB, True)
    with pytest.raises(AccountError):
        gold(ALICE, ALICE, 1)
    with pytest.raises(InvalidInput):
        gold(ALICE, BOB, 1, kind="gift")
    with pytest.raises(InvalidInput):
        await ledger.transfer("", gold(ALICE, BOB, 1))
    assert await ledger.balance(ALICE, GOLD.id) == Balance(10, 0)
    assert await ledger.balance(BOB, GOLD.id) == Balance(0, 0)
    for tid in ("e1", "e2", "e3", "e4", "e5"):
        assert await ledger.get_transfer(tid) is None
    assert (await ledger.verify()).ok


async def test_refused_transfer_leaves_the_callers_transaction_usable(
    ledger: Ledger, store: Store
) -> None:
    """InsufficientFunds inside a caller's transaction writes nothing; later work still commits."""

    async def unit(conn: AsyncConnection) -> None:
        with pytest.raises(InsufficientFunds):
            await ledger.transfer("short", gold(ALICE, BOB, 1), conn=conn)
        await ledger.transfer("ok", gold(ISSUER, BOB, 3), conn=conn)

    await store.run(unit)
    assert await ledger.get_transfer("short") is None
    assert await ledger.balance(BOB, GOLD.id) == Balance(3, 0)
    assert (await ledger.verify()).ok


# ---------------------------------------------------------------- batches


async def test_batch_is_atomic_and_replays(ledger: Ledger) -> None:
    """A purchase batch applies together; replay returns it; a conflicting replay is refused."""
    await ledger.register_asset(SWORD)
    await ledger.open_account("issuer:item:sword", kind=AccountKind.SYSTEM, allow_negative=True)
    await fund(ledger, ALICE, 50)
    specs = [
        gold(ALICE, REVENUE, 30, kind="purchase"),
        TransferSpec("issuer:item:sword", ALICE, SWORD.id, 1, kind="grant"),
    ]
    record = await ledger.batch("buy-1", specs)
    assert [t.id for t in record.transfers] == ["buy-1/0", "buy-1/1"]
    assert all(t.batch_id == "buy-1" for t in record.transfers)
    assert await ledger.balances(ALICE) == {GOLD.id: Balance(20, 0), SWORD.id: Balance(1, 0)}
    assert await ledger.batch("buy-1", specs) == record
    with pytest.raises(IdempotencyConflict):
        await ledger.batch("buy-1", list(reversed(specs)))
    with pytest.raises(IdempotencyConflict):
        await ledger.transfer("buy-1/0", specs[0])
    assert await ledger.balances(ALICE) == {GOLD.id: Balance(20, 0), SWORD.id: Balance(1, 0)}


async def test_batch_reports_the_balances_it_left(ledger: Ledger) -> None:
    """A fresh batch returns every player balance it changed as stored (a system account's
    too where it is one row: SQLite); a replay returns none."""
    await fund(ledger, ALICE, 50)
    specs = [gold(ALICE, REVENUE, 30, kind="purchase"), gold(ALICE, BOB, 5)]
    record = await ledger.batch("spend-1", specs)
    players = {(ALICE, GOLD.id), (BOB, GOLD.id)}
    assert players <= set(record.balances) <= players | {(REVENUE, GOLD.id)}
    for (account, asset), balance in record.balances.items():
        assert await ledger.balance(account, asset) == balance
    assert record.balances[(ALICE, GOLD.id)] == Balance(15, 0)
    replay = await ledger.batch("spend-1", specs)
    assert replay == record
    assert replay.balances == {}


async def test_batch_failing_midway_changes_nothing(ledger: Ledger) -> None:
    """A batch whose last leg overdraws applies none of its legs."""
    await fund(ledger, ALICE, 10)
    with pytest.raises(InsufficientFunds):
        await ledger.batch("bad", [gold(ALICE, BOB, 5), gold(ALICE, REVENUE, 6)])
    with pytest.raises(AccountNotFound):
        await ledger.batch("bad2", [gold(ALICE, BOB, 5), gold(ALICE, "player:ghost", 1)])
    with pytest.raises(AssetNotFound):
        await ledger.batch("bad3", [gold(ALICE, BOB, 5), TransferSpec(ALICE, BOB, "item:x", 1)])
    with pytest.raises(InvalidInput):
        await ledger.batch("empty", [])
    assert await ledger.balance(ALICE, GOLD.id) == Balance(10, 0)
    assert await ledger.balance(BOB, GOLD.id) == Balance(0, 0)
    assert await ledger.get_transfer("bad/0") is None
    assert (await ledger.verify()).ok


async def test_batch_is_checked_on_net_effect(ledger: Ledger) -> None:
    """Within a batch a player may spend what an earlier leg of the same batch credits."""
    record = await ledger.batch(
        "topup-and-buy",
        [gold(ISSUER, ALICE, 7, kind="deposit"), gold(ALICE, REVENUE, 7, kind="purchase")],
    )
    assert len(record.transfers) == 2
    assert await ledger.balance(ALICE, GOLD.id) == Balance(0, 0)
    assert await ledger.balance(REVENUE, GOLD.id) == Balance(7, 0)


async def test_batch_replay_with_short_funds_returns_original(ledger: Ledger) -> None:
    """A replayed batch is recognised even when its debits could no longer be covered."""
    await fund(ledger, ALICE, 5)
    record = await ledger.batch("b", [gold(ALICE, BOB, 5)])
    assert await ledger.batch("b", [gold(ALICE, BOB, 5)]) == record
    with pytest.raises(IdempotencyConflict):
        await ledger.batch("b", [gold(ALICE, BOB, 4)])


# ---------------------------------------------------------------- holds


async def test_hold_then_partial_post(ledger: Ledger) -> None:
    """A hold moves available to held; a partial post pays part and returns the rest."""
    await fund(ledger, ALICE, 100)
    hold = await ledger.hold("w1", gold(ALICE, REVENUE, 60, kind="withdrawal"))
    assert hold.status is HoldStatus.PENDING
    assert await ledger.balance(ALICE, GOLD.id) == Balance(40, 60)
    assert await ledger.hold("w1", gold(ALICE, REVENUE, 60, kind="withdrawal")) == hold
    with pytest.raises(IdempotencyConflict):
        await ledger.hold("w1", gold(ALICE, REVENUE, 61, kind="withdrawal"))
    posted = await ledger.post("w1", 45)
    assert posted.status is HoldStatus.POSTED
    assert posted.posted_amount == 45
    assert posted.resolved_at is not None
    assert await ledger.balance(ALICE, GOLD.id) == Balance(55, 0)
    assert await ledger.balance(REVENUE, GOLD.id) == Balance(45, 0)
    transfer = await ledger.get_transfer("hold:w1")
    assert transfer is not None
    assert (transfer.amount, transfer.kind, transfer.hold_id) == (45, TransferKind.WITHDRAWAL, "w1")
    assert await ledger.post("w1", 45) == posted
    with pytest.raises(HoldStateError):
        await ledger.post("w1", 44)
    with pytest.raises(HoldStateError):
        await ledger.post("w1")
    with pytest.raises(HoldStateError):
        await ledger.void("w1")
    assert await ledger.get_hold("w1") == posted
    assert (await ledger.verify()).ok


async def test_hold_full_post_and_void(ledger: Ledger) -> None:
    """post() without an amount posts everything; void returns everything; both are final."""
    await fund(ledger, ALICE, 100)
    await ledger.hold("a", gold(ALICE, BOB, 30))
    await ledger.hold("b", gold(ALICE, BOB, 20))
    assert await ledger.balance(ALICE, GOLD.id) == Balance(50, 50)
    full = await ledger.post("a")
    assert full.posted_amount == 30
    assert await ledger.post("a") == full
    voided = await ledger.void("b")
    assert voided.status is HoldStatus.VOIDED
    assert voided.posted_amount is None
    assert await ledger.void("b") == voided
    with pytest.raises(HoldStateError):
        await ledger.post("b")
    assert await ledger.balance(ALICE, GOLD.id) == Balance(70, 0)
    assert await ledger.balance(BOB, GOLD.id) == Balance(30, 0)
    assert (await ledger.verify()).ok


async def test_hold_errors(ledger: Ledger) -> None:
    """Unknown holds, over-posts, short funds and bad amounts are typed errors."""
    await fund(ledger, ALICE, 10)
    with pytest.raises(HoldNotFound):
        await ledger.post("nope")
    with pytest.raises(HoldNotFound):
        await ledger.void("nope")
    with pytest.raises(HoldNotFound):
        await ledger.get_hold("nope")
    with pytest.raises(InsufficientFunds):
        await ledger.hold("big", gold(ALICE, BOB, 11))
    with pytest.raises(AccountNotFound):
        await ledger.hold("ghost", gold(ALICE, "player:ghost", 1))
    await ledger.hold("h", gold(ALICE, BOB, 10))
    with pytest.raises(InsufficientFunds):
        await ledger.transfer("spend-held", gold(ALICE, BOB, 1))
    with pytest.raises(HoldStateError):
        await ledger.post("h", 11)
    with pytest.raises(AmountRangeError):
        await ledger.post("h", 0)
    with pytest.raises(AmountTypeError):
        await ledger.post("h", 2.0)  # type: ignore[arg-type]
    assert (await ledger.get_hold("h")).status is HoldStatus.PENDING
    assert await ledger.balance(ALICE, GOLD.id) == Balance(0, 10)
    assert (await ledger.verify()).ok


# ---------------------------------------------------------------- reading


async def test_balance_errors_and_zero_default(ledger: Ledger) -> None:
    """An untouched balance is zero; unknown accounts and assets are errors."""
    assert await ledger.balance(BOB, GOLD.id) == Balance(0, 0)
    assert await ledger.balances(BOB) == {}
    with pytest.raises(AccountNotFound):
        await ledger.balance("player:ghost", GOLD.id)
    with pytest.raises(AssetNotFound):
        await ledger.balance(BOB, "currency:gems")
    with pytest.raises(AccountNotFound):
        await ledger.balances("player:ghost")


async def test_history_pages_newest_first(ledger: Ledger) -> None:
    """History lists an account's transfers newest first over stable cursor pages."""
    await ledger.register_asset(SWORD)
    await ledger.open_account("issuer:item:sword", kind=AccountKind.SYSTEM, allow_negative=True)
    for i in range(7):
        await ledger.transfer(f"h{i}", gold(ISSUER, ALICE, i + 1))
    await ledger.transfer("other", gold(ISSUER, BOB, 1))
    await ledger.transfer("spend", gold(ALICE, BOB, 2))
    await ledger.transfer("item", TransferSpec("issuer:item:sword", ALICE, SWORD.id, 1))
    ids: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = await ledger.history(ALICE, cursor=cursor, limit=3)
        ids.extend(t.id for t in page.entries)
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert ids == ["item", "spend", "h6", "h5", "h4", "h3", "h2", "h1", "h0"]
    assert pages == 3
    gold_only = await ledger.history(ALICE, asset_id=GOLD.id, limit=50)
    assert [t.id for t in gold_only.entries][:2] == ["spend", "h6"]
    assert gold_only.next_cursor is None
    created = [t.created_at for t in gold_only.entries]
    assert created == sorted(created, reverse=True)
    with pytest.raises(InvalidInput):
        await ledger.history(ALICE, cursor="garbage")
    with pytest.raises(InvalidInput):
        await ledger.history(ALICE, limit=0)
    with pytest.raises(AccountNotFound):
        await ledger.history("player:ghost")


async def test_verify_detects_tampering(ledger: Ledger, store: Store) -> None:
    """verify() reports a stored balance the transfers do not explain, and a non-zero asset sum."""
    await fund(ledger, ALICE, 10)
    assert (await ledger.verify()).ok
    async with store.transaction() as conn:
        await conn.execute(
            balances_table.update().where(balances_table.c.account_id == ALICE).values(available=11)
        )
    report = await ledger.verify()
    assert not report.ok
    assert any("player:alice" in p for p in report.problems)
    assert any("sum to 1" in p for p in report.problems)


async def test_verify_detects_an_unexplained_transfer(ledger: Ledger, store: Store) -> None:
    """A transfer row written behind the ledger's back makes verify() fail."""
    await fund(ledger, ALICE, 10)
    async with store.transaction() as conn:
        await conn.execute(
            insert(transfers_table).values(
                id="forged",
                debit=BOB,
                credit=ALICE,
                asset=GOLD.id,
                amount=5,
                kind="transfer",
                created_at=datetime.now(UTC),
            )
        )
        count = (await conn.execute(select(func.count()).select_from(transfers_table))).scalar()
    assert count == 2
    report = await ledger.verify()
    assert not report.ok
    assert report.transfers_checked == 2


async def test_migration_matches_the_table_classes(store: Store) -> None:
    """Revisions 0001_ledger and 0005_hold_transfers create exactly the tables, columns and
    indexes of the table definitions."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import MetaData

    from gamepay.store.schema import ledger as tables

    ours = MetaData()
    for table in (
        tables.assets_table,
        tables.accounts_table,
        tables.balances_table,
        tables.transfers_table,
        tables.holds_table,
        tables.batches_table,
    ):
        table.to_metadata(ours)

    def diff(sync_conn: object) -> list[object]:
        context = MigrationContext.configure(
            sync_conn,  # type: ignore[arg-type]
            opts={
                "compare_type": True,
                "include_name": lambda name, kind, _parent: kind != "table" or name in ours.tables,
            },
        )
        return list(compare_metadata(context, ours))

    async with store.transaction() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []


async def test_ledger_joins_a_connection_that_has_not_begun(ledger: Ledger, store: Store) -> None:
    """A plain engine connection is begun before the ledger writes, so a rollback undoes it."""
    async with store.engine.connect() as conn:
        await ledger.transfer("lazy", gold(ISSUER, ALICE, 4), conn=conn)
        assert conn.in_transaction()
        await conn.rollback()
    assert await ledger.get_transfer("lazy") is None
    assert await ledger.balance(ALICE, GOLD.id) == Balance(0, 0)
    assert (await ledger.verify()).ok


async def test_batch_whose_transfer_id_is_taken_conflicts(ledger: Ledger) -> None:
    """A batch whose generated transfer id already names a transfer is refused as a conflict."""
    await ledger.transfer("clash/1", gold(ISSUER, BOB, 1))
    with pytest.raises(IdempotencyConflict):
        await ledger.batch("clash", [gold(ISSUER, ALICE, 2), gold(ISSUER, ALICE, 3)])
    assert await ledger.balance(ALICE, GOLD.id) == Balance(0, 0)
    assert await ledger.get_transfer("clash/0") is None
    assert (await ledger.verify()).ok
