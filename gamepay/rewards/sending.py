"""On-chain reward payouts: send each paid payout to its player's wallet as a withdrawal.

The payout is already in the player's ledger balance; sending it is a withdrawal (hold, one
asset_pro transfer with a stable reference, post or void, reconciliation of unknown outcomes)
with the request id ``reward:<program>:<period>``, unique per player in the withdrawal service:
a replay (after a crash, or from another replica) returns the same withdrawal and never sends
twice. Each payout's outcome is recorded on its row (``send_status``) so the run does not retry it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

from gamepay.core.rewards import RunStatus
from gamepay.errors import InvalidInput, LedgerError, PaymentError
from gamepay.rewards.repository import RewardRepository
from gamepay.store import Store

__all__ = ["SEND_NO_WALLET", "PayoutSender", "SentWithdrawal", "WalletLookup", "WithdrawalSender"]

log = logging.getLogger("gamepay.rewards")

WalletLookup = Callable[[str], Awaitable[str | None]]
"""An async function from player id to the player's wallet address (None: no wallet)."""

SEND_NO_WALLET = "no_wallet"
"""The send status of an on-chain payout whose player has no wallet (it stays in the ledger)."""


class SentWithdrawal(Protocol):
    """What the sender reads of a withdrawal: its id and status."""

    @property
    def id(self) -> str:
        """The withdrawal id."""
        ...

    @property
    def status(self) -> str:
        """The withdrawal status (``sent``, ``failed``, ``unknown``...)."""
        ...

    @property
    def error_code(self) -> str | None:
        """Why it failed, as a stable code (``treasury_insufficient``...), if known."""
        ...


class WithdrawalSender(Protocol):
    """What the sender needs of ``gamepay.withdrawals.Withdrawals``: ``withdraw``."""

    async def withdraw(
        self, player_id: str, asset_id: str, amount: int, address: str, *, request_id: str
    ) -> SentWithdrawal:
        """Send ``amount`` of ``asset_id`` to ``address`` once per ``request_id``."""
        ...


class PayoutSender:
    """Sends a run's paid payouts of one asset to wallets, then marks the run paid.

    ``step`` sees ``sending``, ``withdrawn`` and ``sent`` for each payout (see the runner's
    ``STEPS``); ``chunk_size`` payouts are read at a time.
    """

    def __init__(
        self,
        store: Store,
        rows: RewardRepository,
        withdrawals: WithdrawalSender,
        wallets: WalletLookup,
        *,
        asset: str,
        chunk_size: int,
        clock: Callable[[], datetime],
        step: Callable[[str], None],
    ) -> None:
        self._store = store
        self._rows = rows
        self._withdrawals = withdrawals
        self._wallets = wallets
        self._asset = asset
        self._chunk_size = chunk_size
        self._clock = clock
        self._step = step

    async def send_run(self, run_id: int, request_id: str) -> None:
        """Send every paid, unsent payout of the run under ``request_id``; then mark it paid.

        A refusal (no wallet, a limit, a bad address, the player already spent the reward)
        leaves the reward in the player's ledger balance and is recorded, so it is not retried.
        """
        while True:
            due = await self._store.read(
                lambda conn: self._rows.unsent(conn, run_id, self._chunk_size)
            )
            if not due:
                break
            for player_id, amount in due:
                self._step("sending")
                status, withdrawal_id = await self._send_one(player_id, amount, request_id)
                self._step("withdrawn")
                async with self._store.transaction() as conn:
                    await self._rows.record_send(conn, run_id, player_id, status, withdrawal_id)
                self._step("sent")
        async with self._store.transaction() as conn:
            await self._rows.move_run(
                conn, run_id, [RunStatus.SENDING], RunStatus.PAID, finished_at=self._clock()
            )

    async def _send_one(
        self, player_id: str, amount: int, request_id: str
    ) -> tuple[str, str | None]:
        address = await self._wallets(player_id)
        if address is None:
            return SEND_NO_WALLET, None
        try:
            withdrawal = await self._withdrawals.withdraw(
                player_id, self._asset, amount, address, request_id=request_id
            )
        except (InvalidInput, LedgerError, PaymentError) as exc:
            log.warning("reward for %s not sent on-chain: %s", player_id, exc.code)
            return f"refused:{exc.code}"[:40], None
        if str(withdrawal.status) == "failed" and withdrawal.error_code == "treasury_insufficient":
            # 4015: the hold is already voided (the reward stays in the ledger); not retried
            log.error(
                "reward for %s not sent on-chain: KryptoGO's treasury is short; refill it",
                player_id,
            )
            return "failed:treasury_insufficient", withdrawal.id
        return str(withdrawal.status), withdrawal.id
