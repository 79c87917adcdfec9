"""Test harness for withdrawals: a real store, ledger, served sandbox and HTTP client together.

The sandbox is STRICT (it refuses any undocumented request field, so no test can depend on a
note) and its clock starts at the harness's ``START``, so executed transfers fall inside the
reconciliation window of the withdrawals that made them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gamepay.core.accounts import AccountKind, player_account, world_account
from gamepay.core.assets import Token
from gamepay.core.events import Event
from gamepay.core.transfers import TransferKind, TransferSpec
from gamepay.kryptogo.client import KryptoGOClient
from gamepay.ledger import Ledger
from gamepay.ledger.records import Balance
from gamepay.sandbox import Faults, RunningSandbox, SandboxConfig, TreasuryTransfer
from gamepay.store import Store
from gamepay.testing import running_sandbox
from gamepay.withdrawals import Withdrawals, WithdrawalsConfig

__all__ = ["USDT", "Env", "RecordingPublisher", "SimulatedCrash", "withdrawal_env"]

USDT = Token("arb", "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9", "USDT", 6)
"""USDT on Arbitrum, one of the sandbox's default tokens."""

START = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


class SimulatedCrash(BaseException):
    """Raised from a checkpoint: the process "dies" there (nothing in the service catches it)."""


@dataclass
class RecordingPublisher:
    """A publisher that keeps what it was handed (events arrive only after their commit)."""

    events: list[Event] = field(default_factory=list)

    async def publish(self, events: Sequence[Event]) -> None:
        """Keep the events."""
        self.events.extend(events)


@dataclass
class Env:
    """Everything one withdrawal test needs; ``service()`` builds a fresh service (a restart)."""

    store: Store
    ledger: Ledger
    running: RunningSandbox
    client: KryptoGOClient
    config: WithdrawalsConfig
    publisher: RecordingPublisher
    now: list[datetime]
    deposits: int = 0

    def clock(self) -> datetime:
        """The test clock (``now[0]``; tests move it)."""
        return self.now[0]

    def service(self, checkpoint: Callable[[str], None] | None = None, **kw: Any) -> Withdrawals:
        """A new service over the same database and API, as after a process restart."""
        return Withdrawals(
            self.store,
            self.ledger,
            self.client,
            config=kw.pop("config", self.config),
            clock=self.clock,
            publisher=kw.pop("publisher", self.publisher),
            checkpoint=checkpoint,
            **kw,
        )

    async def deposit(self, player: str, amount: int, token: Token = USDT) -> None:
        """Credit a player from the outside world (a top-up), opening the account if needed."""
        await self.ledger.open_account(player_account(player))
        self.deposits += 1
        await self.ledger.transfer(
            f"test-deposit-{self.deposits}",
            TransferSpec(
                world_account(token.chain_id),
                player_account(player),
                token.id,
                amount,
                kind=TransferKind.DEPOSIT,
            ),
        )

    async def balance(self, player: str, token: Token = USDT) -> tuple[int, int]:
        """The player's ledger balance as ``(available, held)``."""
        found: Balance = await self.ledger.balance(player_account(player), token.id)
        return found.available, found.held

    def executed(self) -> list[TreasuryTransfer]:
        """Every transfer the sandbox executed, oldest first."""
        return self.running.sandbox.transfers.records()

    def executed_ids(self) -> dict[str, TreasuryTransfer]:
        """The executed transfers by their KryptoGO transfer id."""
        return {r.transfer_id: r for r in self.executed()}

    def export(self) -> list[dict[str, str]]:
        """The executed transfers as Studio export rows (what an operator downloads)."""
        return self.running.sandbox.transfers.export_rows()

    def fund_treasury(self, amount: int, token: Token = USDT) -> None:
        """Put tokens in the organization's treasury on the sandbox."""
        self.running.sandbox.fund(token.chain_id, token.symbol, amount)


@asynccontextmanager
async def withdrawal_env(
    db_url: str,
    *,
    min_amount: int | None = None,
    daily_limit: int | None = None,
    time_zone: str = "UTC",
    treasury: int = 10**15,
    client_timeout: float = 5.0,
    faults: Faults | None = None,
    strict: bool = True,
) -> AsyncIterator[Env]:
    """A migrated database, a ledger with the world account, a served sandbox and a client."""
    store = await Store.connect(db_url)
    try:
        await store.migrate()
        ledger = Ledger(store, clock=lambda: datetime.now(UTC))
        await ledger.register_asset(USDT)
        await ledger.open_account(
            world_account(USDT.chain_id), kind=AccountKind.SYSTEM, allow_negative=True
        )
        config = WithdrawalsConfig(
            tokens={USDT.id: USDT},
            min_amount={} if min_amount is None else {USDT.id: min_amount},
            daily_limit={} if daily_limit is None else {USDT.id: daily_limit},
            time_zone=time_zone,
        )
        sandbox_config = SandboxConfig(
            seed=7, strict=strict, start_time=int(START.timestamp()), frozen_clock=False
        )
        async with running_sandbox(sandbox_config, faults) as running:
            client = KryptoGOClient(
                client_id=running.client_id,
                api_key=running.api_key,
                origin=running.origin,
                base_url=running.url,
                timeout=client_timeout,
            )
            async with client:
                env = Env(store, ledger, running, client, config, RecordingPublisher(), [START])
                if treasury:
                    env.fund_treasury(treasury)
                yield env
    finally:
        await store.close()
