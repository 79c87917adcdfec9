"""Every withdrawal path against the sandbox over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest
from sqlalchemy import inspect as sa_inspect

from gamepay.bus.outbox import events_after
from gamepay.core.events import EventType
from gamepay.core.withdrawals import WithdrawalStatus
from gamepay.errors import (
    AddressError,
    AmountTypeError,
    AssetError,
    BelowMinimum,
    IllegalTransition,
    InsufficientFunds,
    InvalidInput,
    LimitExceeded,
    WithdrawalConflict,
    WithdrawalNotFound,
)
from gamepay.sandbox import Faults
from gamepay.store.schema.withdrawals import withdrawal_days_table, withdrawals_table
from gamepay.withdrawals import ExecutedTransfer
from tests.support.withdrawals import USDT, Env, SimulatedCrash, withdrawal_env

S = WithdrawalStatus
ADDRESS = "0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045"
UNIT = 10**6  # one USDT


async def check_ledger(env: Env, *, transfers: bool = True) -> None:
    """The ledger recomputes; no transfer beyond the withdrawals that may have run (none sent
    twice) and every sent withdrawal names a transfer the sandbox executed."""
    report = await env.ledger.verify()
    assert report.ok, report.problems
    if not transfers:
        return
    rows = await env.service().list()
    may_run = [w for w in rows if w.status in (S.SENT, S.UNKNOWN, S.SENDING)]
    executed = env.executed_ids()
    assert len(executed) <= len(may_run), (executed, may_run)
    assert all(w.transfer_id in executed for w in rows if w.status is S.SENT)


async def test_success_posts_hold_and_sends_once(db_url: str) -> None:
    """A withdrawal is sent once (the four documented fields only); the hold is posted."""
    async with withdrawal_env(db_url) as env:
        await env.deposit("alice", 10 * UNIT)
        w = await env.service().withdraw("alice", USDT.id, 3 * UNIT, ADDRESS, request_id="r1")
        assert w.status is S.SENT
        [record] = env.running.sandbox.transfers.records()
        assert (record.transfer_id, record.tx_hash) == (w.transfer_id, w.tx_hash)
        assert record.amount == 3 * UNIT
        assert record.wallet_address == ADDRESS
        assert await env.balance("alice") == (7 * UNIT, 0)
        hold = await env.ledger.get_hold(w.hold_id)
        assert hold.status == "posted"
        assert hold.credit == "world:arb"
        assert await env.service().get(w.id) == w
        await check_ledger(env)


async def test_events_published_after_commit(db_url: str) -> None:
    """held, sending and sent are announced, with the balance after the hold and the post."""
    async with withdrawal_env(db_url) as env:
        await env.deposit("alice", 10 * UNIT)
        w = await env.service().withdraw("alice", USDT.id, 3 * UNIT, ADDRESS, request_id="r1")
        statuses = [
            e.payload["status"]
            for e in env.publisher.events
            if e.type is EventType.WITHDRAWAL_STATUS_CHANGED
        ]
        assert statuses == ["held", "sending", "sent"]
        balances = [
            (e.payload["available"], e.payload["held"])
            for e in env.publisher.events
            if e.type is EventType.BALANCE_CHANGED
        ]
        assert balances == [(str(7 * UNIT), str(3 * UNIT)), (str(7 * UNIT), "0")]
        assert all(e.player_id == "alice" for e in env.publisher.events)
        assert env.publisher.events[-2].payload["tx_hash"] == w.tx_hash
        deltas = [e.payload["delta"] for e in env.publisher.events if "delta" in e.payload]
        assert deltas == [str(-3 * UNIT), "0"]
        # every published event is a persisted outbox row, replayable in order
        async with env.store.transaction() as conn:
            stored = await events_after(conn, "alice", 0)
        assert [e.id for e in stored] == [e.id for e in env.publisher.events]
        assert [e.payload for e in stored] == [e.payload for e in env.publisher.events]


async def test_lowercase_address_stored_checksummed(db_url: str) -> None:
    """An all-lowercase EVM address is accepted, stored and sent in checksummed form."""
    async with withdrawal_env(db_url) as env:
        await env.deposit("alice", 10 * UNIT)
        w = await env.service().withdraw("alice", USDT.id, UNIT, ADDRESS.lower(), request_id="r1")
        assert w.address == ADDRESS
        assert env.running.sandbox.transfers.records()[0].wallet_address == ADDRESS


async def test_treasury_empty_fails_and_returns_funds(db_url: str) -> None:
    """A definite refusal (treasury empty) voids the hold: failed, funds and limit given back."""
    async with withdrawal_env(db_url, treasury=0, daily_limit=5 * UNIT) as env:
        await env.deposit("alice", 10 * UNIT)
        service = env.service()
        w = await service.withdraw("alice", USDT.id, 5 * UNIT, ADDRESS, request_id="r1")
        assert w.status is S.FAILED
        assert w.error is not None
        assert "Balance not enough" in w.error
        assert w.error_code == "treasury_insufficient"
        assert await env.balance("alice") == (10 * UNIT, 0)
        assert (await env.ledger.get_hold(w.hold_id)).status == "voided"
        assert env.executed() == []
        last = env.publisher.events[-2:]
        assert [e.type for e in last] == [
            EventType.WITHDRAWAL_STATUS_CHANGED,
            EventType.BALANCE_CHANGED,
        ]
        assert last[0].payload["status"] == "failed"
        assert last[0].payload["error"] == "treasury_insufficient"  # a code, never the text
        assert last[1].payload["delta"] == str(5 * UNIT)
        assert await service.day_total("alice", USDT.id, w.limit_day) == 0
        env.fund_treasury(100 * UNIT)
        again = await service.withdraw("alice", USDT.id, 5 * UNIT, ADDRESS, request_id="r2")
        assert again.status is S.SENT
        await check_ledger(env)


@pytest.mark.parametrize("mode", ["504", "hang"])
async def test_timeout_after_commit_is_unknown_then_reconciled(db_url: str, mode: str) -> None:
    """The transfer executes but the answer is lost: unknown, hold kept; reconciled to sent."""
    async with withdrawal_env(db_url, client_timeout=0.5) as env:
        await env.deposit("alice", 10 * UNIT)
        env.running.sandbox.arm_timeout_after_commit("transfer", mode)  # type: ignore[arg-type]
        service = env.service()
        w = await service.withdraw("alice", USDT.id, 4 * UNIT, ADDRESS, request_id="r1")
        assert w.status is S.UNKNOWN
        assert len(env.executed()) == 1
        assert await env.balance("alice") == (6 * UNIT, 4 * UNIT)
        assert (await env.ledger.get_hold(w.hold_id)).status == "pending"
        # replaying the request never calls the API again
        assert (
            await service.withdraw("alice", USDT.id, 4 * UNIT, ADDRESS, request_id="r1")
        ).id == w.id
        assert len(env.executed()) == 1
        report = await service.reconcile_unknown(env.running.sandbox.transfers.records)
        [sent] = report.sent
        assert sent.id == w.id
        assert sent.status is S.SENT
        [record] = env.running.sandbox.transfers.records()
        assert (sent.transfer_id, sent.tx_hash) == (record.transfer_id, record.tx_hash)
        assert await env.balance("alice") == (6 * UNIT, 0)
        await check_ledger(env)


async def test_reconcile_keeps_unknown_unless_record_is_complete(db_url: str) -> None:
    """An unknown withdrawal absent from the record stays unknown unless told it is complete."""
    async with withdrawal_env(db_url, client_timeout=0.5) as env:
        await env.deposit("alice", 10 * UNIT)
        env.running.sandbox.arm_timeout_after_commit("transfer", "504")
        service = env.service()
        w = await service.withdraw("alice", USDT.id, 4 * UNIT, ADDRESS, request_id="r1")
        assert w.status is S.UNKNOWN
        report = await service.reconcile_unknown([])
        assert [x.id for x in report.still_unknown] == [w.id]
        assert (await service.get(w.id)).status is S.UNKNOWN

        # an async source works too; here the record (wrongly) lacks it and is declared complete
        async def source() -> list[ExecutedTransfer]:
            return [ExecutedTransfer(transfer_id="t", wallet_address=ADDRESS, amount=UNIT)]

        report = await service.reconcile_unknown(source, absent_means_failed=True)
        assert [x.id for x in report.failed] == [w.id]
        assert await env.balance("alice") == (10 * UNIT, 0)


async def test_operator_resolve(db_url: str) -> None:
    """resolve settles only unknown withdrawals; sent posts, not-sent voids; others refused."""
    async with withdrawal_env(db_url, client_timeout=0.5) as env:
        await env.deposit("alice", 10 * UNIT)
        service = env.service()
        env.running.sandbox.arm_timeout_after_commit("transfer", "504")
        a = await service.withdraw("alice", USDT.id, 2 * UNIT, ADDRESS, request_id="a")
        env.running.sandbox.arm_timeout_after_commit("transfer", "504")
        b = await service.withdraw("alice", USDT.id, 3 * UNIT, ADDRESS, request_id="b")
        assert (a.status, b.status) == (S.UNKNOWN, S.UNKNOWN)
        done = await service.resolve(a.id, sent=True, tx_hash="0xabc", transfer_id="tr_1")
        assert (done.status, done.tx_hash, done.transfer_id) == (S.SENT, "0xabc", "tr_1")
        back = await service.resolve(b.id, sent=False)
        assert back.status is S.FAILED
        assert await env.balance("alice") == (8 * UNIT, 0)
        for wid in (a.id, b.id):
            with pytest.raises(IllegalTransition):
                await service.resolve(wid, sent=True)
        with pytest.raises(WithdrawalNotFound):
            await service.resolve("wd_missing", sent=True)
        with pytest.raises(InvalidInput):
            await service.resolve(a.id, sent=1)  # type: ignore[arg-type]
        await check_ledger(env, transfers=False)  # the operator here "resolved" blindly


CRASHES = [
    ("held", True),
    ("sending", True),
    ("called", True),
    ("called", False),
]


@pytest.mark.parametrize(("step", "treasury_ok"), CRASHES)
async def test_crash_between_steps_then_recover(db_url: str, step: str, treasury_ok: bool) -> None:
    """A crash after each persisted step, then recover(): sent at most once, no funds lost."""
    async with withdrawal_env(db_url, treasury=10**12 if treasury_ok else 0) as env:
        await env.deposit("alice", 10 * UNIT)

        def die(at: str) -> None:
            if at == step:
                raise SimulatedCrash(at)

        with pytest.raises(SimulatedCrash):
            await env.service(checkpoint=die).withdraw(
                "alice", USDT.id, 4 * UNIT, ADDRESS, request_id="r1"
            )
        [w] = await env.service().list()
        assert w.status is (S.HELD if step == "held" else S.SENDING)
        assert await env.balance("alice") == (6 * UNIT, 4 * UNIT)

        restarted = env.service()
        report = await restarted.recover()
        after = await restarted.get(w.id)
        if step == "held":
            # never reached the API: voided, nothing sent
            assert [x.id for x in report.failed] == [w.id]
            assert after.status is S.FAILED
            assert env.executed() == []
            assert await env.balance("alice") == (10 * UNIT, 0)
        else:
            assert [x.id for x in report.unknown] == [w.id]
            assert after.status is S.UNKNOWN
            assert await env.balance("alice") == (6 * UNIT, 4 * UNIT)
            await restarted.reconcile_unknown(
                env.running.sandbox.transfers.records, absent_means_failed=True
            )
            final = await restarted.get(w.id)
            executed = len(env.executed())
            assert executed == (1 if step == "called" and treasury_ok else 0)
            assert final.status is (S.SENT if executed else S.FAILED)
            expected = (6 * UNIT, 0) if executed else (10 * UNIT, 0)
            assert await env.balance("alice") == expected
        # a second recovery finds nothing to do, and the request id stays taken
        assert await restarted.recover() == type(report)()
        replay = await restarted.withdraw("alice", USDT.id, 4 * UNIT, ADDRESS, request_id="r1")
        assert replay.id == w.id
        assert len(env.executed()) <= 1
        await check_ledger(env)


async def test_crash_while_publishing_the_hold(db_url: str) -> None:
    """A crash right after the hold commits (while publishing): recovery voids it, none sent."""
    async with withdrawal_env(db_url) as env:
        await env.deposit("alice", 10 * UNIT)

        class DyingPublisher:
            async def publish(self, events: object) -> None:
                raise SimulatedCrash("publish")

        service = env.service(publisher=DyingPublisher())
        with pytest.raises(SimulatedCrash):
            await service.withdraw("alice", USDT.id, UNIT, ADDRESS, request_id="r1")
        # the hold committed before the publisher ran; recovery voids it
        report = await env.service().recover()
        assert len(report.failed) == 1
        assert await env.balance("alice") == (10 * UNIT, 0)
        assert env.executed() == []


async def test_minimum_and_daily_limit(db_url: str) -> None:
    """Below the minimum is refused; the daily limit counts today's live withdrawals only."""
    async with withdrawal_env(db_url, min_amount=UNIT, daily_limit=10 * UNIT) as env:
        await env.deposit("alice", 100 * UNIT)
        await env.deposit("bob", 100 * UNIT)
        service = env.service()
        with pytest.raises(BelowMinimum):
            await service.withdraw("alice", USDT.id, UNIT - 1, ADDRESS, request_id="small")
        assert (
            await service.withdraw("alice", USDT.id, UNIT, ADDRESS, request_id="min")
        ).status is S.SENT
        await service.withdraw("alice", USDT.id, 8 * UNIT, ADDRESS, request_id="big")
        with pytest.raises(LimitExceeded):
            await service.withdraw("alice", USDT.id, 2 * UNIT, ADDRESS, request_id="over")
        # exactly up to the limit is allowed; bob has his own limit
        assert (
            await service.withdraw("alice", USDT.id, UNIT, ADDRESS, request_id="fill")
        ).status is S.SENT
        assert (
            await service.withdraw("bob", USDT.id, 10 * UNIT, ADDRESS, request_id="b")
        ).status is S.SENT
        assert await service.day_total("alice", USDT.id, date(2026, 11, 24)) == 10 * UNIT
        # an unknown one still counts
        env.now[0] += timedelta(days=1)
        env.running.sandbox.arm_timeout_after_commit("transfer", "504")
        w = await service.withdraw("alice", USDT.id, 6 * UNIT, ADDRESS, request_id="next-day")
        assert w.status is S.UNKNOWN
        assert w.limit_day == date(2026, 11, 25)
        with pytest.raises(LimitExceeded):
            await service.withdraw("alice", USDT.id, 5 * UNIT, ADDRESS, request_id="x")
        # resolving it as not sent gives the amount back to the day
        await service.resolve(w.id, sent=False)
        assert (
            await service.withdraw("alice", USDT.id, 10 * UNIT, ADDRESS, request_id="y")
        ).status is S.SENT
        assert await env.balance("alice") == (100 * UNIT - 20 * UNIT, 0)
        await check_ledger(env, transfers=False)  # "not sent" above was said blindly


async def test_daily_limit_follows_the_configured_zone(db_url: str) -> None:
    """In Asia/Taipei (UTC+8) a new day starts at 16:00 UTC."""
    async with withdrawal_env(db_url, daily_limit=5 * UNIT, time_zone="Asia/Taipei") as env:
        await env.deposit("alice", 100 * UNIT)
        service = env.service()
        env.now[0] = env.now[0].replace(hour=15, minute=59)
        first = await service.withdraw("alice", USDT.id, 5 * UNIT, ADDRESS, request_id="a")
        assert first.limit_day == date(2026, 11, 24)
        with pytest.raises(LimitExceeded):
            await service.withdraw("alice", USDT.id, UNIT, ADDRESS, request_id="b")
        env.now[0] = env.now[0].replace(hour=16, minute=0)
        second = await service.withdraw("alice", USDT.id, 5 * UNIT, ADDRESS, request_id="c")
        assert second.limit_day == date(2026, 11, 25)
        assert second.status is S.SENT


async def test_idempotent_request_ids(db_url: str) -> None:
    """The same request returns the same withdrawal; other content under it is a conflict."""
    async with withdrawal_env(db_url) as env:
        await env.deposit("alice", 10 * UNIT)
        await env.deposit("bob", 10 * UNIT)
        service = env.service()
        first = await service.withdraw("alice", USDT.id, 2 * UNIT, ADDRESS, request_id="r1")
        again = await env.service().withdraw(
            "alice", USDT.id, 2 * UNIT, ADDRESS.lower(), request_id="r1"
        )
        assert again == first
        for amount, address in ((3 * UNIT, ADDRESS), (2 * UNIT, "0x" + "1" * 40)):
            with pytest.raises(WithdrawalConflict):
                await service.withdraw("alice", USDT.id, amount, address, request_id="r1")
        # request ids are per player
        other = await service.withdraw("bob", USDT.id, 2 * UNIT, ADDRESS, request_id="r1")
        assert other.id != first.id
        assert set(env.executed_ids()) == {first.transfer_id, other.transfer_id}
        assert await env.balance("alice") == (8 * UNIT, 0)


async def test_refused_request_changes_nothing_and_can_be_retried(db_url: str) -> None:
    """Insufficient funds writes nothing, so the same request id works once funded."""
    async with withdrawal_env(db_url) as env:
        await env.deposit("alice", UNIT)
        service = env.service()
        with pytest.raises(InsufficientFunds):
            await service.withdraw("alice", USDT.id, 2 * UNIT, ADDRESS, request_id="r1")
        assert await service.list() == []
        assert await service.day_total("alice", USDT.id, date(2026, 11, 24)) == 0
        await env.deposit("alice", UNIT)
        w = await service.withdraw("alice", USDT.id, 2 * UNIT, ADDRESS, request_id="r1")
        assert w.status is S.SENT


BAD_INPUTS: list[tuple[str, object, str, type[Exception]]] = [
    (USDT.id, 1, ADDRESS[:-1] + ("5" if ADDRESS[-1] != "5" else "6"), AddressError),
    (USDT.id, 1, ADDRESS.replace("d8dA", "d8DA"), AddressError),  # wrong EIP-55 case
    (USDT.id, 1, ADDRESS[2:], AddressError),  # no 0x
    (USDT.id, 1, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", AddressError),  # Tron on arb
    (USDT.id, 1.0, ADDRESS, AmountTypeError),
    (USDT.id, True, ADDRESS, AmountTypeError),
    (USDT.id, 0, ADDRESS, InvalidInput),
    (USDT.id, 2**256, ADDRESS, InvalidInput),
    ("currency:gold", 1, ADDRESS, AssetError),
    ("token:eth:0x6b175474e89094c44da98b954eedeac495271d0f", 1, ADDRESS, AssetError),
]


async def test_bad_input_refused_before_anything(db_url: str) -> None:
    """Bad addresses, amounts, assets, players and request ids: typed errors, nothing held."""
    async with withdrawal_env(db_url) as env:
        await env.deposit("alice", 10 * UNIT)
        service = env.service()
        for asset, amount, address, error in BAD_INPUTS:
            with pytest.raises(error):
                await service.withdraw("alice", asset, amount, address, request_id="r1")  # type: ignore[arg-type]
        for player, request_id in (("al ice", "r1"), ("alice", ""), ("alice", "a b"), (7, "r")):
            with pytest.raises(InvalidInput):
                await service.withdraw(player, USDT.id, 1, ADDRESS, request_id=request_id)  # type: ignore[arg-type]
        assert await service.list() == []
        assert await env.balance("alice") == (10 * UNIT, 0)
        assert env.executed() == []


async def test_list_and_get(db_url: str) -> None:
    """list filters by status and player, oldest first; get of a missing id is typed."""
    async with withdrawal_env(db_url, treasury=3 * UNIT) as env:
        await env.deposit("alice", 10 * UNIT)
        await env.deposit("bob", 10 * UNIT)
        service = env.service()
        a = await service.withdraw("alice", USDT.id, 3 * UNIT, ADDRESS, request_id="1")
        env.now[0] += timedelta(seconds=1)
        b = await service.withdraw("bob", USDT.id, 3 * UNIT, ADDRESS, request_id="1")
        assert (a.status, b.status) == (S.SENT, S.FAILED)
        assert [w.id for w in await service.list()] == [a.id, b.id]
        assert [w.id for w in await service.list(status="failed")] == [b.id]
        assert [w.id for w in await service.list(player_id="alice")] == [a.id]
        assert await service.list(status=S.SENT, player_id="bob") == []
        with pytest.raises(InvalidInput):
            await service.list(status="paid")
        with pytest.raises(WithdrawalNotFound):
            await service.get("wd_nope")


async def test_tables_match_the_migration(db_url: str) -> None:
    """The Alembic revision creates exactly the columns the table definitions declare."""
    tables = {t.name: t for t in (withdrawals_table, withdrawal_days_table)}
    async with withdrawal_env(db_url) as env:

        def columns(sync_conn: object) -> dict[str, set[str]]:
            inspector = sa_inspect(sync_conn)
            return {name: {c["name"] for c in inspector.get_columns(name)} for name in tables}

        async with env.store.engine.connect() as conn:
            found = await conn.run_sync(columns)
        assert found == {name: {c.name for c in table.columns} for name, table in tables.items()}


async def test_recovery_racing_an_inflight_transfer_never_resends(db_url: str) -> None:
    """recover() while a transfer is in flight: unknown first, then the real answer settles it."""
    async with withdrawal_env(db_url, faults=Faults(latency=0.6)) as env:
        await env.deposit("alice", 10 * UNIT)
        sending = asyncio.Event()

        def mark(step: str) -> None:
            if step == "sending":
                sending.set()

        task = asyncio.create_task(
            env.service(checkpoint=mark).withdraw(
                "alice", USDT.id, 4 * UNIT, ADDRESS, request_id="r1"
            )
        )
        other = env.service()
        async with asyncio.timeout(5):
            await sending.wait()
        assert [w.status for w in await other.list()] == [S.SENDING]
        report = await other.recover()  # a second process starting up mid-flight
        assert len(report.unknown) == 1
        done = await task
        assert done.status is S.SENT
        assert list(env.executed_ids()) == [done.transfer_id]
        assert await env.balance("alice") == (6 * UNIT, 0)
        with pytest.raises(IllegalTransition):
            await other.resolve(done.id, sent=False)
        await check_ledger(env)


async def test_reconcile_matches_on_wallet_amount_and_time_only(db_url: str) -> None:
    """Records with another amount, wallet or time are not candidates; two that fit leave the
    withdrawal to an operator with both listed; one that fits (export form) settles it."""
    async with withdrawal_env(db_url) as env:
        await env.deposit("alice", 10 * UNIT)
        env.running.sandbox.arm_timeout_after_commit("transfer", "504")
        service = env.service()
        w = await service.withdraw("alice", USDT.id, 4 * UNIT, ADDRESS, request_id="r1")
        assert w.status is S.UNKNOWN
        at = w.created_at + timedelta(seconds=3)
        fits = {"wallet_address": ADDRESS, "amount": 4 * UNIT, "executed_at": at}
        for wrong in (
            {"amount": 4 * UNIT + 1},
            {"wallet_address": "0x" + "2" * 40},
            {"wallet_address": "garbage"},
            {"executed_at": w.created_at + timedelta(hours=2)},
            {"executed_at": None},
            {"chain_id": "eth"},
        ):
            record = ExecutedTransfer(transfer_id="t", **{**fits, **wrong})  # type: ignore[arg-type]
            report = await service.reconcile_unknown([record])
            assert [x.id for x in report.still_unknown] == [w.id]
            assert (await service.get(w.id)).status is S.UNKNOWN
        two = [ExecutedTransfer(transfer_id=f"t{i}", **fits) for i in (1, 2)]  # type: ignore[arg-type]
        report = await service.reconcile_unknown(two, absent_means_failed=True)
        assert [x.id for x in report.ambiguous] == [w.id]
        assert report.candidates[w.id] == tuple(two)
        assert (await service.get(w.id)).status is S.UNKNOWN
        # an export with the amount as a decimal string and a lowercase wallet matches
        export = ExecutedTransfer(
            transfer_id="t9",
            amount="4",
            wallet_address=ADDRESS.lower(),
            executed_at=int(at.timestamp()),
            chain_id="arb",
            contract_address=USDT.address.lower(),
        )
        report = await service.reconcile_unknown([export])
        assert [x.transfer_id for x in report.sent] == ["t9"]
        assert await env.balance("alice") == (6 * UNIT, 0)
