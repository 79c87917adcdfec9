"""Stateful test: withdrawals against the sandbox over real HTTP, with a model beside them.

Rules interleave deposits, withdrawals that succeed, are refused, time out after the transfer
committed, or crash after each persisted step; recovery; operator resolution (truthful, from the
sandbox's record) and illegal resolution attempts; reconciliation runs; the day rolling over.
Invariants after every step: the sandbox executed each withdrawal at most once; ``sent`` iff the
sandbox executed it, ``failed`` only if it did not; every player's ledger balance (available,
held) equals the model's; daily-limit totals equal the model's; the ledger verifies.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import tempfile
from collections.abc import Awaitable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from gamepay.core.withdrawals import COUNTS_TOWARD_LIMIT, WithdrawalStatus
from gamepay.errors import (
    AmountRangeError,
    BelowMinimum,
    IllegalTransition,
    InsufficientFunds,
    LimitExceeded,
    WithdrawalConflict,
)
from gamepay.sandbox import Faults
from gamepay.testing import sqlite_url
from tests.support.withdrawals import USDT, Env, SimulatedCrash, withdrawal_env

T = TypeVar("T")
S = WithdrawalStatus
PLAYERS = ("p1", "p2")


def wallet_for(player: str, request_id: str) -> str:
    """A wallet of one's own per request: reconciliation (wallet + amount + time, no note) can
    then tell every withdrawal apart; ambiguity itself is tested in test_withdrawal_matching."""
    return "0x" + hashlib.sha256(f"{player}:{request_id}".encode()).hexdigest()[:40]


MINIMUM = 2
LIMIT = 40
OUTCOMES = (
    "ok",
    "refused",
    "timeout",
    "crash_held",
    "crash_sending",
    "crash_called",
    "crash_called_refused",
)
CI = os.environ.get("HYPOTHESIS_PROFILE") == "ci"


@dataclass
class Model:
    """What the model expects of one withdrawal."""

    id: str
    wallet: str
    player: str
    amount: int
    day: date
    status: WithdrawalStatus
    executed: bool


class WithdrawalMachine(RuleBasedStateMachine):
    """Withdrawals, recovery and reconciliation under injected faults, against a model."""

    def __init__(self) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        self.stack = AsyncExitStack()
        self.tmp = Path(tempfile.mkdtemp(prefix="gp-wd-"))
        self.env: Env = self.run(
            self.stack.enter_async_context(
                withdrawal_env(
                    sqlite_url(self.tmp / "db.sqlite"),
                    min_amount=MINIMUM,
                    daily_limit=LIMIT,
                )
            )
        )
        self.available = dict.fromkeys(PLAYERS, 0)
        self.held = dict.fromkeys(PLAYERS, 0)
        self.withdrawals: dict[str, Model] = {}
        self.requests: dict[tuple[str, str], str] = {}
        for player in PLAYERS:
            self.run(self.env.deposit(player, 60))
            self.available[player] = 60

    def run(self, coro: Awaitable[T]) -> T:
        """Run one coroutine on this machine's event loop (where the sandbox server lives)."""
        return self.runner.run(coro)  # type: ignore[arg-type]

    def teardown(self) -> None:
        """Stop the server, close the database, remove the files."""
        try:
            self.run(self.stack.aclose())
        finally:
            self.runner.close()
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- model helpers ----------------------------------------------------------------------

    def today(self) -> date:
        """The day withdrawals made now count against (UTC)."""
        return self.env.now[0].date()

    def used(self, player: str, day: date) -> int:
        """What the model says counts toward ``player``'s limit on ``day``."""
        return sum(
            m.amount
            for m in self.withdrawals.values()
            if m.player == player and m.day == day and m.status in COUNTS_TOWARD_LIMIT
        )

    def settle(self, m: Model, status: WithdrawalStatus) -> None:
        """Apply a settled outcome to the model's balances."""
        if status is S.FAILED:
            self.available[m.player] += m.amount
        self.held[m.player] -= m.amount
        m.status = status

    # -- rules ------------------------------------------------------------------------------

    @rule(player=st.sampled_from(PLAYERS), amount=st.integers(1, 40))
    def deposit(self, player: str, amount: int) -> None:
        """A top-up credits the player."""
        self.run(self.env.deposit(player, amount))
        self.available[player] += amount

    @rule(
        player=st.sampled_from(PLAYERS),
        amount=st.integers(0, 25),
        request=st.integers(0, 6),
        outcome=st.sampled_from(OUTCOMES),
    )
    def withdraw(self, player: str, amount: int, request: int, outcome: str) -> None:
        """Request a withdrawal; the outcome decides what the sandbox and the process do."""
        request_id = f"q{request}"
        service = self.env.service(checkpoint=self._crash_at(outcome))
        before = len(self.env.executed())
        address = wallet_for(player, request_id)
        known = self.requests.get((player, request_id))
        if known is not None:
            m = self.withdrawals[known]
            if amount != m.amount:
                try:
                    self.run(
                        service.withdraw(player, USDT.id, amount, address, request_id=request_id)
                    )
                except (WithdrawalConflict, AmountRangeError, BelowMinimum):
                    pass
                else:
                    raise AssertionError("a reused request id with another amount was accepted")
            else:
                w = self.run(
                    service.withdraw(player, USDT.id, amount, address, request_id=request_id)
                )
                assert (w.id, w.status) == (m.id, m.status)
            assert len(self.env.executed()) == before, "a replayed request reached the API"
            return
        expected: type[Exception] | None = None
        if amount == 0:
            expected = AmountRangeError
        elif amount < MINIMUM:
            expected = BelowMinimum
        elif self.used(player, self.today()) + amount > LIMIT:
            expected = LimitExceeded
        elif amount > self.available[player]:
            expected = InsufficientFunds
        if expected is not None:
            try:
                self.run(service.withdraw(player, USDT.id, amount, address, request_id=request_id))
            except expected:
                pass
            else:
                raise AssertionError(f"expected {expected.__name__}")
            assert len(self.env.executed()) == before
            return

        sandbox = self.env.running.sandbox
        if outcome in ("refused", "crash_called_refused"):
            sandbox.set_faults(Faults(api_error_rate=1.0, api_error_statuses=(429,)))
        if outcome == "timeout":
            sandbox.arm_timeout_after_commit("transfer", "504")
        crashed = False
        try:
            self.run(service.withdraw(player, USDT.id, amount, address, request_id=request_id))
        except SimulatedCrash:
            crashed = True
        finally:
            sandbox.set_faults(None)
        assert crashed == outcome.startswith("crash")
        [w] = [
            x
            for x in self.run(self.env.service().list(player_id=player))
            if x.request_id == request_id
        ]
        executed = outcome in ("ok", "timeout", "crash_called")
        assert len(self.env.executed()) == before + executed
        status = {
            "ok": S.SENT,
            "refused": S.FAILED,
            "timeout": S.UNKNOWN,
            "crash_held": S.HELD,
        }.get(outcome, S.SENDING)
        m = Model(w.id, w.address, player, amount, self.today(), status, executed)
        self.withdrawals[w.id] = m
        self.requests[(player, request_id)] = w.id
        if status is not S.FAILED:
            self.available[player] -= amount
            self.held[player] += amount
        if status is S.SENT:
            self.held[player] -= amount

    @staticmethod
    def _crash_at(outcome: str) -> Any:
        step = {
            "crash_held": "held",
            "crash_sending": "sending",
            "crash_called": "called",
            "crash_called_refused": "called",
        }.get(outcome)

        def checkpoint(at: str) -> None:
            if at == step:
                raise SimulatedCrash(at)

        return checkpoint

    @rule()
    def recover(self) -> None:
        """Start-up recovery: sending -> unknown, held -> failed (voided)."""
        report = self.run(self.env.service().recover())
        expect_unknown = {m.id for m in self.withdrawals.values() if m.status is S.SENDING}
        expect_failed = {m.id for m in self.withdrawals.values() if m.status is S.HELD}
        assert {w.id for w in report.unknown} == expect_unknown
        assert {w.id for w in report.failed} == expect_failed
        for wid in expect_unknown:
            self.withdrawals[wid].status = S.UNKNOWN
        for wid in expect_failed:
            self.settle(self.withdrawals[wid], S.FAILED)

    def _unknown(self) -> list[Model]:
        return [m for m in self.withdrawals.values() if m.status is S.UNKNOWN]

    @precondition(lambda self: bool(self._unknown()))
    @rule(data=st.data())
    def resolve_truthfully(self, data: st.DataObject) -> None:
        """An operator settles an unknown withdrawal from the sandbox's record."""
        m = data.draw(st.sampled_from(self._unknown()))
        w = self.run(self.env.service().resolve(m.id, sent=m.executed))
        assert w.status is (S.SENT if m.executed else S.FAILED)
        self.settle(m, w.status)

    @precondition(lambda self: any(m.status is not S.UNKNOWN for m in self.withdrawals.values()))
    @rule(data=st.data(), sent=st.booleans())
    def resolve_refused(self, data: st.DataObject, sent: bool) -> None:
        """Resolving anything but an unknown withdrawal is refused and changes nothing."""
        m = data.draw(
            st.sampled_from([m for m in self.withdrawals.values() if m.status is not S.UNKNOWN])
        )
        try:
            self.run(self.env.service().resolve(m.id, sent=sent))
        except IllegalTransition:
            pass
        else:
            raise AssertionError(f"resolved a {m.status} withdrawal")

    @rule()
    def reconcile(self) -> None:
        """Reconciliation against the sandbox's complete record settles every unknown one, and
        a ``sending`` one (a crash mid-call) that was executed; never fails a ``sending`` one."""
        records = self.env.running.sandbox.transfers.records
        self.run(self.env.service().reconcile_unknown(records, absent_means_failed=True))
        for m in self._unknown():
            self.settle(m, S.SENT if m.executed else S.FAILED)
        for m in self.withdrawals.values():
            if m.status is S.SENDING and m.executed:
                self.settle(m, S.SENT)

    @rule()
    def next_day(self) -> None:
        """The clock moves to the next day: the daily limit starts again (KryptoGO's too)."""
        self.env.now[0] += timedelta(days=1)
        self.env.running.sandbox.advance(86_400)

    # -- invariants -------------------------------------------------------------------------

    @invariant()
    def each_withdrawal_executed_at_most_once_and_status_is_true(self) -> None:
        """One transfer per executed withdrawal (each wallet once); sent iff executed, failed
        only if not executed."""
        wallets = [record.wallet_address for record in self.env.executed()]
        assert len(set(wallets)) == len(wallets), wallets
        executed = set(wallets)
        stored = {w.id: w for w in self.run(self.env.service().list())}
        assert set(stored) == set(self.withdrawals)
        for m in self.withdrawals.values():
            assert stored[m.id].status is m.status, (m, stored[m.id])
            assert (m.wallet in executed) == m.executed
            if m.status is S.SENT:
                assert m.executed
            if m.status is S.FAILED:
                assert not m.executed

    @invariant()
    def funds_match_the_model_and_the_ledger_verifies(self) -> None:
        """available + held per player as modelled; day totals as modelled; verify() is ok."""
        for player in PLAYERS:
            assert self.run(self.env.balance(player)) == (
                self.available[player],
                self.held[player],
            )
        service = self.env.service()
        for player, day in {(m.player, m.day) for m in self.withdrawals.values()}:
            assert self.run(service.day_total(player, USDT.id, day)) == self.used(player, day)
        report = self.run(self.env.ledger.verify())
        assert report.ok, report.problems


WithdrawalMachine.TestCase.settings = settings(
    max_examples=25 if CI else 6,
    stateful_step_count=30 if CI else 15,
    deadline=None,
)
TestWithdrawalMachine = WithdrawalMachine.TestCase
