"""A hypothesis state machine over the real ledger (SQLite, and PostgreSQL when configured).

A plain-dict model runs beside the store: every rule does the same thing to both, and after
every step the stored balances must equal the model's, no player may be below zero, every asset
must sum to zero, ``verify()`` must pass, and the transfer log alone must tell each hold's story
(its pending transfer, then its post or void transfer, as the model says). One database per
test; each example uses fresh account and asset ids, so examples never see each other's accounts.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from gamepay.core.accounts import AccountKind
from gamepay.core.assets import Currency
from gamepay.core.holds import status_of
from gamepay.core.money import MAX_AMOUNT
from gamepay.core.transfers import TransferSpec
from gamepay.errors import (
    AccountNotFound,
    AmountRangeError,
    HoldStateError,
    IdempotencyConflict,
    InsufficientFunds,
)
from gamepay.ledger import HoldStatus, Ledger
from gamepay.store import Store
from gamepay.store.schema import metadata
from gamepay.store.schema.ledger import BALANCE_SLOTS, balances_table, transfers_table
from gamepay.testing import sqlite_url
from tests.support.ledger import migrated

CI = os.environ.get("HYPOTHESIS_PROFILE") == "ci"
MACHINE_SETTINGS = settings(
    max_examples=60 if CI else 8,
    stateful_step_count=50 if CI else 25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
_example_ids = itertools.count()
LEDGER_TABLES = {
    "gp_transfers",
    "gp_holds",
    "gp_batches",
    "gp_balances",
    "gp_accounts",
    "gp_assets",
}

small = st.integers(min_value=1, max_value=1_000)
amounts = st.one_of(
    small,
    small,
    small,
    st.integers(min_value=1, max_value=MAX_AMOUNT),
    st.just(MAX_AMOUNT),
)


@dataclass
class Model:
    """The plain-dict ledger the store must agree with."""

    allow_negative: dict[str, bool] = field(default_factory=dict)
    balances: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    transfers: dict[str, TransferSpec] = field(default_factory=dict)
    batches: dict[str, list[TransferSpec]] = field(default_factory=dict)
    holds: dict[str, tuple[TransferSpec, HoldStatus, int | None]] = field(default_factory=dict)

    def get(self, key: tuple[str, str]) -> list[int]:
        """The [available, held] of a key, zero when untouched."""
        return self.balances.get(key, [0, 0])

    def apply(self, changes: dict[tuple[str, str], tuple[int, int]]) -> type[Exception] | None:
        """Apply (available, held) deltas if allowed; else the error the ledger must raise."""
        after = {}
        for key, (d_avail, d_held) in changes.items():
            avail, held = self.get(key)
            after[key] = [avail + d_avail, held + d_held]
        for key, (d_avail, _) in changes.items():
            if d_avail < 0 and after[key][0] < 0 and not self.allow_negative[key[0]]:
                return InsufficientFunds
        for value in after.values():
            if abs(value[0]) > MAX_AMOUNT or abs(value[1]) > MAX_AMOUNT:
                return AmountRangeError
        self.balances.update(after)
        return None


def spec_changes(specs: list[TransferSpec]) -> dict[tuple[str, str], tuple[int, int]]:
    """Net (available, held) deltas of a list of transfers."""
    net: dict[tuple[str, str], int] = {}
    for s in specs:
        net[(s.debit, s.asset)] = net.get((s.debit, s.asset), 0) - s.amount
        net[(s.credit, s.asset)] = net.get((s.credit, s.asset), 0) + s.amount
    return {k: (v, 0) for k, v in net.items()}


class LedgerMachine(RuleBasedStateMachine):
    """Random ledger operations against the real store and the model."""

    url: str = ""

    accounts = Bundle("accounts")
    hold_ids = Bundle("hold_ids")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.store = self.run(Store.connect(self.url, pool_size=2))
        self.ledger = Ledger(self.store)
        self.model = Model()
        self.prefix = f"m{next(_example_ids)}"
        self.assets = [f"currency:{self.prefix}a", f"currency:{self.prefix}b"]
        self.ids = itertools.count()
        self.issuer = f"issuer:{self.prefix}"

    async def truncate(self) -> None:
        """Empty the ledger's tables so each example starts from nothing."""
        async with self.store.transaction() as conn:
            for table in reversed(metadata.sorted_tables):
                if table.name in LEDGER_TABLES:
                    await conn.execute(table.delete())

    def run(self, coro: Any) -> Any:
        """Run one coroutine on the machine's own event loop."""
        return self.loop.run_until_complete(coro)

    def expect(self, error: type[Exception] | None, coro: Any) -> Any:
        """Run ``coro``; it must raise exactly ``error`` (or succeed when None)."""
        if error is None:
            return self.run(coro)
        with pytest.raises(error):
            self.run(coro)
        return None

    def fresh(self, what: str) -> str:
        """A new id for this example."""
        return f"{self.prefix}-{what}{next(self.ids)}"

    def teardown(self) -> None:
        """Close the store and the loop."""
        self.run(self.store.close())
        self.loop.close()

    @initialize(target=accounts)
    def setup(self) -> Any:
        """Empty the tables, register the assets and open one negative-allowed issuer."""
        self.run(self.truncate())
        for asset_id in self.assets:
            self.run(self.ledger.register_asset(Currency(asset_id.split(":", 1)[1])))
        issuer = self.issuer
        self.run(self.ledger.open_account(issuer, kind=AccountKind.SYSTEM, allow_negative=True))
        self.model.allow_negative[issuer] = True
        return issuer

    @rule(target=accounts, kind=st.sampled_from(["player", "system", "system-negative"]))
    def open_account(self, kind: str) -> str:
        """Open a player, a system, or a negative-allowed system account."""
        account = self.fresh("acct")
        negative = kind == "system-negative"
        self.run(
            self.ledger.open_account(
                account,
                kind=AccountKind.PLAYER if kind == "player" else AccountKind.SYSTEM,
                allow_negative=negative,
            )
        )
        self.model.allow_negative[account] = negative
        return account

    def spec(self, debit: str, credit: str, asset: int, amount: int, kind: str) -> TransferSpec:
        """A transfer spec on one of this example's assets."""
        return TransferSpec(debit, credit, self.assets[asset], amount, kind=kind)

    @rule(credit=accounts, asset=st.integers(0, 1), amount=amounts)
    def grant(self, credit: str, asset: int, amount: int) -> None:
        """The issuer grants value to an account (so players have something to spend)."""
        if credit == self.issuer:
            return
        spec = self.spec(self.issuer, credit, asset, amount, "grant")
        error = self.model.apply(spec_changes([spec]))
        tid = self.fresh("g")
        self.expect(error, self.ledger.transfer(tid, spec))
        if error is None:
            self.model.transfers[tid] = spec

    @rule(
        debit=accounts,
        credit=accounts,
        asset=st.integers(0, 1),
        amount=amounts,
        kind=st.sampled_from(["transfer", "grant", "purchase"]),
    )
    def transfer(self, debit: str, credit: str, asset: int, amount: int, kind: str) -> None:
        """A single transfer: applied, or refused exactly when the model refuses it."""
        if debit == credit:
            return
        spec = self.spec(debit, credit, asset, amount, kind)
        tid = self.fresh("t")
        error = self.model.apply(spec_changes([spec]))
        record = self.expect(error, self.ledger.transfer(tid, spec))
        if error is None:
            assert (record.debit, record.credit, record.amount) == (debit, credit, amount)
            self.model.transfers[tid] = spec

    @rule(
        legs=st.lists(
            st.tuples(accounts, accounts, st.integers(0, 1), amounts), min_size=1, max_size=5
        ),
        ghost=st.booleans(),
    )
    def batch(self, legs: list[tuple[str, str, int, int]], ghost: bool) -> None:
        """An atomic batch (sometimes with a leg to an unopened account): all or nothing."""
        specs = [self.spec(d, c, a, n, "transfer") for d, c, a, n in legs if d != c]
        if ghost:
            specs.append(self.spec(specs[0].debit if specs else legs[0][0], "ghost", 0, 1, "grant"))
        if not specs:
            return
        bid = self.fresh("b")
        if ghost:
            self.expect(AccountNotFound, self.ledger.batch(bid, specs))
            return
        error = self.model.apply(spec_changes(specs))
        record = self.expect(error, self.ledger.batch(bid, specs))
        if error is None:
            assert [t.amount for t in record.transfers] == [s.amount for s in specs]
            self.model.batches[bid] = specs

    @rule(target=hold_ids, debit=accounts, credit=accounts, asset=st.integers(0, 1), amount=amounts)
    def hold(self, debit: str, credit: str, asset: int, amount: int) -> Any:
        """Hold funds: available -> held on the debit account."""
        if debit == credit:
            return multiple()
        spec = self.spec(debit, credit, asset, amount, "withdrawal")
        hid = self.fresh("h")
        error = self.model.apply({(debit, spec.asset): (-amount, amount)})
        self.expect(error, self.ledger.hold(hid, spec))
        if error is not None:
            return multiple()
        self.model.holds[hid] = (spec, HoldStatus.PENDING, None)
        return hid

    @rule(hid=consumes(hold_ids), fraction=st.fractions(0, 1), over=st.booleans())
    def post(self, hid: str, fraction: Any, over: bool) -> None:
        """Post a pending hold, partially or fully; posting above the hold is refused."""
        if hid not in self.model.holds:
            return
        spec, _, _ = self.model.holds[hid]
        if over:
            too_much = AmountRangeError if spec.amount == MAX_AMOUNT else HoldStateError
            self.expect(too_much, self.ledger.post(hid, spec.amount + 1))
            return
        amount = max(1, int(spec.amount * fraction))
        changes = {(spec.debit, spec.asset): (spec.amount - amount, -spec.amount)}
        credit_key = (spec.credit, spec.asset)
        changes[credit_key] = (changes.get(credit_key, (0, 0))[0] + amount, 0)
        error = self.model.apply(changes)
        record = self.expect(error, self.ledger.post(hid, amount))
        if error is None:
            assert record.status is HoldStatus.POSTED
            assert record.posted_amount == amount
            self.model.holds[hid] = (spec, HoldStatus.POSTED, amount)

    @rule(hid=consumes(hold_ids))
    def void(self, hid: str) -> None:
        """Void a pending hold: everything returns to available, unless the debit account
        received so much meanwhile that it would pass 2**256-1 (AmountRangeError, still pending)."""
        if hid not in self.model.holds:
            return
        spec, _, _ = self.model.holds[hid]
        error = self.model.apply({(spec.debit, spec.asset): (spec.amount, -spec.amount)})
        assert error in (None, AmountRangeError)
        record = self.expect(error, self.ledger.void(hid))
        if error is None:
            assert record.status is HoldStatus.VOIDED
            self.model.holds[hid] = (spec, HoldStatus.VOIDED, None)

    @precondition(
        lambda self: any(s is not HoldStatus.PENDING for _, s, _ in self.model.holds.values())
    )
    @rule(data=st.data())
    def resolve_resolved_hold(self, data: st.DataObject) -> None:
        """Resolving a resolved hold again: same outcome replays, the other is HoldStateError."""
        done = sorted(h for h, (_, s, _) in self.model.holds.items() if s is not HoldStatus.PENDING)
        hid = data.draw(st.sampled_from(done))
        _, status, posted = self.model.holds[hid]
        if status is HoldStatus.POSTED:
            assert self.run(self.ledger.post(hid, posted)).posted_amount == posted
            self.expect(HoldStateError, self.ledger.void(hid))
        else:
            assert self.run(self.ledger.void(hid)).status is HoldStatus.VOIDED
            self.expect(HoldStateError, self.ledger.post(hid))

    @precondition(lambda self: bool(self.model.transfers))
    @rule(data=st.data(), conflicting=st.booleans())
    def replay_transfer(self, data: st.DataObject, conflicting: bool) -> None:
        """Replaying a transfer id: same content returns it, other content conflicts."""
        tid = data.draw(st.sampled_from(sorted(self.model.transfers)))
        spec = self.model.transfers[tid]
        if conflicting:
            other = TransferSpec(spec.debit, spec.credit, spec.asset, spec.amount, memo="changed")
            self.expect(IdempotencyConflict, self.ledger.transfer(tid, other))
        else:
            record = self.run(self.ledger.transfer(tid, spec))
            assert (record.id, record.amount, record.debit) == (tid, spec.amount, spec.debit)

    @precondition(lambda self: bool(self.model.batches))
    @rule(data=st.data(), conflicting=st.booleans())
    def replay_batch(self, data: st.DataObject, conflicting: bool) -> None:
        """Replaying a batch id: same transfers return it, other transfers conflict."""
        bid = data.draw(st.sampled_from(sorted(self.model.batches)))
        specs = self.model.batches[bid]
        if conflicting:
            changed = [
                *specs[:-1],
                TransferSpec(
                    specs[-1].debit,
                    specs[-1].credit,
                    specs[-1].asset,
                    specs[-1].amount,
                    kind="refund",
                ),
            ]
            self.expect(IdempotencyConflict, self.ledger.batch(bid, changed))
        else:
            record = self.run(self.ledger.batch(bid, specs))
            assert [t.amount for t in record.transfers] == [s.amount for s in specs]

    @precondition(lambda self: bool(self.model.holds))
    @rule(data=st.data(), conflicting=st.booleans())
    def replay_hold(self, data: st.DataObject, conflicting: bool) -> None:
        """Replaying a hold id: same spec returns the hold as it is now; other spec conflicts."""
        hid = data.draw(st.sampled_from(sorted(self.model.holds)))
        spec, status, _ = self.model.holds[hid]
        if conflicting:
            other = TransferSpec(spec.debit, spec.credit, spec.asset, spec.amount, memo="x")
            self.expect(IdempotencyConflict, self.ledger.hold(hid, other))
        else:
            assert self.run(self.ledger.hold(hid, spec)).status is status

    @invariant()
    def store_matches_model(self) -> None:
        """Balances equal the model; no player below zero; every asset sums to zero; verify ok."""
        accounts = list(self.model.allow_negative)

        async def read() -> dict[tuple[str, str], list[int]]:
            # a balance is the sum of its rows (a system account's may be spread over slots)
            slotted = self.store.dialect == "postgresql"
            stored: dict[tuple[str, str], list[int]] = {}
            async with self.store.transaction() as conn:
                rows = await conn.execute(
                    select(balances_table).where(balances_table.c.account_id.in_(accounts))
                )
                for r in rows:
                    if slotted and r.slot != 0:  # a slot keeps the sum of all in range
                        assert max(abs(r.available), abs(r.held)) <= MAX_AMOUNT // BALANCE_SLOTS
                    total = stored.setdefault((r.account_id, r.asset), [0, 0])
                    total[0] += r.available
                    total[1] += r.held
            return stored

        stored = self.run(read())
        for key in set(stored) | set(self.model.balances):
            assert stored.get(key, [0, 0]) == self.model.get(key), key
        for (account, _), (available, held) in stored.items():
            if not self.model.allow_negative[account]:
                assert available >= 0
            assert held >= 0
        for asset in self.assets:
            assert sum(v[0] + v[1] for k, v in stored.items() if k[1] == asset) == 0
        report = self.run(self.ledger.verify())
        assert report.ok, report.problems

    @invariant()
    def transfers_tell_each_holds_story(self) -> None:
        """Each hold has its pending transfer, plus a post (posted amount) or a void (held
        amount) exactly when the model says it was posted or voided."""
        holds = list(self.model.holds)
        t = transfers_table.c

        async def read() -> dict[str, dict[str, tuple[int, str, str]]]:
            stories: dict[str, dict[str, tuple[int, str, str]]] = {h: {} for h in holds}
            async with self.store.transaction() as conn:
                rows = await conn.execute(
                    select(t.hold_id, t.phase, t.amount, t.debit, t.credit).where(
                        t.hold_id.in_(holds)
                    )
                )
                for row in rows:
                    stories[row.hold_id][row.phase] = (row.amount, row.debit, row.credit)
            return stories

        for hid, story in self.run(read()).items():
            spec, status, posted = self.model.holds[hid]
            assert status_of(story) is status, (hid, story)
            want = {"pending": spec.amount}
            if status is HoldStatus.POSTED:
                want["post"] = posted  # type: ignore[assignment]
            elif status is HoldStatus.VOIDED:
                want["void"] = spec.amount
            assert {p: v[0] for p, v in story.items()} == want, (hid, story)
            assert {v[1:] for v in story.values()} == {(spec.debit, spec.credit)}


def _run_machine(url: str) -> None:
    migrated(url)
    LedgerMachine.url = url
    run_state_machine_as_test(LedgerMachine, settings=MACHINE_SETTINGS)


def test_ledger_machine_sqlite(tmp_path: Path) -> None:
    """The ledger agrees with the model after every step on SQLite."""
    _run_machine(sqlite_url(tmp_path / "machine.db"))


@pytest.mark.postgres
def test_ledger_machine_postgres(pg_machine_url: str) -> None:
    """The ledger agrees with the model after every step on PostgreSQL."""
    _run_machine(pg_machine_url)
