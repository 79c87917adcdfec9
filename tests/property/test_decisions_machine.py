"""Stateful test: an operator's random uploads and resolves never settle anything twice.

Rules make withdrawals that wait for a decision (a transfer that executed and lost its answer:
``unknown``; a crash after ``sending`` before or after the call: ``sending``), move the clock,
upload exports of some of the executed transfers, and resolve any withdrawal (settled ones
too) as failed, or as sent with any executed transfer's id, truthful or not. Invariants after
every step: each withdrawal's status is the model's (settled once, by the first accepted
decision), no transfer id settles two withdrawals, the player's balance is the model's, every
call wrote exactly one audit row (``ok`` exactly for the accepted ones), the ledger verifies.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from gamepay.audit import Actor, AuditLog
from gamepay.core.withdrawals import HOLD_OPEN, TERMINAL, WithdrawalStatus
from gamepay.errors import GamepayError
from gamepay.testing import fresh_postgres_database, sqlite_url
from gamepay.withdrawals.decision_errors import AlreadySettled, NotAwaitingDecision, TransferClaimed
from gamepay.withdrawals.decisions import WithdrawalDecisions
from tests.support.withdrawals import USDT, Env, SimulatedCrash, withdrawal_env

T = TypeVar("T")
S = WithdrawalStatus
CI = os.environ.get("HYPOTHESIS_PROFILE") == "ci"
FUNDS = 10**9
STUCK = timedelta(minutes=10)
ACTOR = Actor.of("admin", client_ip="127.0.0.1", session_id="machine")
WALLET = "0x" + "cd" * 20


@dataclass
class Model:
    """What the model expects of one withdrawal."""

    id: str
    amount: int
    status: WithdrawalStatus
    transfer_id: str | None = None


class DecisionsMachine(RuleBasedStateMachine):
    """Random operator decisions against the real services, beside a model."""

    backend = "sqlite"
    pg_url = ""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.stack = AsyncExitStack()
        self.tmp = Path(tempfile.mkdtemp(prefix="gp-dec-"))
        url = self.run(self.stack.enter_async_context(self._database()))
        self.env: Env = self.run(
            self.stack.enter_async_context(withdrawal_env(url, client_timeout=0.5))
        )
        self.run(self.env.deposit("alice", FUNDS))
        self.decisions = WithdrawalDecisions(
            self.env.store, self.env.service(), clock=self.env.clock, stuck_after=STUCK
        )
        self.model: dict[str, Model] = {}
        self.requests = 0
        self.calls = 0
        self.accepted = 0

    @asynccontextmanager
    async def _database(self) -> AsyncIterator[str]:
        if self.backend == "sqlite":
            yield sqlite_url(self.tmp / "db.sqlite")
        else:
            async with fresh_postgres_database(self.pg_url) as url:
                yield url

    def run(self, coro: Awaitable[T]) -> T:
        """Run one coroutine on this machine's loop (where the sandbox server lives)."""
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        """Stop the sandbox, close and drop the database, remove the files."""
        try:
            self.run(self.stack.aclose())
        finally:
            self.loop.close()
            shutil.rmtree(self.tmp, ignore_errors=True)

    def _withdraw(self, amount: int, crash: str | None, timeout: bool) -> None:
        self.requests += 1
        request = f"r{self.requests}"

        def die(step: str) -> None:
            if step == crash:
                raise SimulatedCrash(step)

        if timeout:
            self.env.running.sandbox.arm_timeout_after_commit("transfer", "504")
        with suppress(SimulatedCrash):
            self.run(
                self.env.service(checkpoint=die).withdraw(
                    "alice", USDT.id, amount, WALLET, request_id=request
                )
            )
        [w] = [w for w in self.run(self.env.service().list()) if w.request_id == request]
        self.model[w.id] = Model(w.id, amount, w.status)

    @rule(amount=st.integers(1, 5))
    def lost_answer(self, amount: int) -> None:
        """The transfer executes and its answer is lost: unknown."""
        self._withdraw(amount * 1_000_000, None, timeout=True)

    @rule(amount=st.integers(1, 5), called=st.booleans())
    def crash_while_sending(self, amount: int, called: bool) -> None:
        """The process dies while sending, before or after the call: sending."""
        self._withdraw(amount * 1_000_000, "called" if called else "sending", timeout=False)

    @rule(minutes=st.integers(1, 15))
    def time_passes(self, minutes: int) -> None:
        """The clock moves on (a sending one becomes stuck after ten minutes)."""
        self.env.now[0] += timedelta(minutes=minutes)

    @rule(data=st.data(), as_json=st.booleans())
    def upload(self, data: st.DataObject, as_json: bool) -> None:
        """Upload an export of some executed transfers."""
        rows = self.env.export()
        chosen = data.draw(st.lists(st.sampled_from(rows), unique_by=json.dumps)) if rows else []
        if as_json:
            content = json.dumps(chosen).encode()
        else:
            out = io.StringIO()
            writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["id"])
            writer.writeheader()
            writer.writerows(chosen)
            content = out.getvalue().encode()
        if not rows and not as_json:
            content = b"id,wallet_address,amount,time\n"
        self.calls += 1
        self.accepted += 1
        self.run(self.decisions.upload_export(content, "x.json" if as_json else "x.csv", ACTOR))
        view = self.run(self.decisions.view())
        for decision in view.decisions:
            assert self.model[decision.withdrawal.id].status not in TERMINAL

    def _resolve(self, m: Model, sent: bool, transfer_id: str | None) -> None:
        """Resolve ``m``; the refusal is exactly the one the model predicts, if any."""
        stored = self.run(self.env.service().get(m.id))
        claimed = {x.transfer_id for x in self.model.values() if x.id != m.id}
        expected: type[GamepayError] | None = None
        if m.status in TERMINAL:
            expected = AlreadySettled
        elif m.status is S.SENDING and self.env.now[0] - stored.updated_at < STUCK:
            expected = NotAwaitingDecision
        elif transfer_id is not None and transfer_id in claimed:
            expected = TransferClaimed
        self.calls += 1
        resolving = self.decisions.resolve(m.id, sent=sent, transfer_id=transfer_id, actor=ACTOR)
        if expected is not None:
            with pytest.raises(expected):
                self.run(resolving)
            return
        w = self.run(resolving)
        self.accepted += 1
        m.status = w.status
        m.transfer_id = transfer_id
        assert m.status is (S.SENT if sent else S.FAILED)

    def _made(self) -> list[Model]:
        """The withdrawals in the order they were made (ids are random: never sort by them)."""
        return list(self.model.values())

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data(), sent=st.booleans())
    def resolve_any(self, data: st.DataObject, sent: bool) -> None:
        """Resolve any withdrawal, settled ones too, as failed or as sent with any record."""
        m = data.draw(st.sampled_from(self._made()))
        records = self.env.executed()
        if sent and not records:
            return
        record = data.draw(st.sampled_from(records)) if sent else None
        self._resolve(m, sent, None if record is None else record.transfer_id)

    @precondition(
        lambda self: (
            any(m.transfer_id for m in self.model.values())
            and any(m.status not in TERMINAL for m in self.model.values())
        )
    )
    @rule(data=st.data())
    def resolve_with_a_claimed_transfer(self, data: st.DataObject) -> None:
        """Resolve an open withdrawal as sent with a transfer that already settles another."""
        m = data.draw(st.sampled_from([m for m in self._made() if m.status not in TERMINAL]))
        claimed = [x.transfer_id for x in self._made() if x.transfer_id]
        self._resolve(m, True, data.draw(st.sampled_from(claimed)))

    @invariant()
    def settled_once_balances_hold_and_the_ledger_verifies(self) -> None:
        """Statuses and transfer ids as modelled; balance = model; one audit row per call."""
        stored = {w.id: w for w in self.run(self.env.service().list())}
        for m in self.model.values():
            assert (stored[m.id].status, stored[m.id].transfer_id) == (m.status, m.transfer_id)
        ids = [m.transfer_id for m in self.model.values() if m.transfer_id is not None]
        assert len(ids) == len(set(ids))
        held = sum(m.amount for m in self.model.values() if m.status in HOLD_OPEN)
        sent = sum(m.amount for m in self.model.values() if m.status is S.SENT)
        assert self.run(self.env.balance("alice")) == (FUNDS - held - sent, held)
        rows = self.run(AuditLog(self.env.store).page(limit=500))
        assert len(rows) == self.calls
        assert sum(r.result == "ok" for r in rows) == self.accepted
        assert self.run(self.env.ledger.verify()).ok


def _run(backend: str, pg_url: str = "") -> Any:
    """Run the machine on ``backend`` (PostgreSQL: fewer examples, each a fresh database)."""
    DecisionsMachine.backend = backend
    DecisionsMachine.pg_url = pg_url
    examples = (20 if backend == "sqlite" else 8) if CI else 5
    run_state_machine_as_test(
        DecisionsMachine,
        settings=settings(
            max_examples=examples, stateful_step_count=30 if CI else 15, deadline=None
        ),
    )


def test_decisions_machine_sqlite() -> None:
    """Random uploads and resolves never double-settle on SQLite."""
    _run("sqlite")


@pytest.mark.postgres
def test_decisions_machine_postgres(pg_url: str) -> None:
    """Random uploads and resolves never double-settle on PostgreSQL."""
    _run("postgresql", pg_url)
