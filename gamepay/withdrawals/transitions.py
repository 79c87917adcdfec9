"""The one way a stored withdrawal moves: lock the row, apply the table, post or void, events.

``Mover.transition`` is what every status change of ``gamepay.withdrawals`` goes through (the
service's sending path and the operator's settlement alike): in ONE transaction it locks the row,
checks ``gamepay.core.withdrawals``' transition table, posts or voids the ledger hold (a void
gives the amount back to the day's limit first), updates the row and records the events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.bus.outbox import EventDraft, publish_quietly, record_events
from gamepay.core.accounts import player_account
from gamepay.core.assets import Token
from gamepay.core.events import Event, EventPublisher
from gamepay.core.withdrawals import HoldEffect, WithdrawalStatus, check_transition
from gamepay.errors import WithdrawalNotFound
from gamepay.ledger import Ledger
from gamepay.store import Store
from gamepay.withdrawals.events import balance_draft, status_draft
from gamepay.withdrawals.records import MoveHook, Withdrawal
from gamepay.withdrawals.repository import WithdrawalRepository

__all__ = ["Mover"]

_MAX_ERROR = 500


def _short(text: str) -> str:
    return text if len(text) <= _MAX_ERROR else text[: _MAX_ERROR - 3] + "..."


class Mover:
    """Moves stored withdrawals through their lifecycle and publishes the committed events.

    ``now`` returns the aware UTC time of a move; ``publisher`` receives committed events.
    """

    def __init__(
        self,
        store: Store,
        ledger: Ledger,
        rows: WithdrawalRepository,
        *,
        now: Callable[[], datetime],
        publisher: EventPublisher | None,
    ) -> None:
        self._store = store
        self._ledger = ledger
        self._rows = rows
        self._now = now
        self._publisher = publisher

    async def transition(
        self,
        withdrawal_id: str,
        sources: set[WithdrawalStatus],
        target: WithdrawalStatus,
        *,
        transfer_id: str | None = None,
        tx_hash: str | None = None,
        error: str | None = None,
        also: MoveHook | None = None,
    ) -> tuple[Withdrawal, bool]:
        """The one way a stored withdrawal moves: lock, check, post/void, update, events.

        Returns the withdrawal as it is after the transaction, and whether it moved (False when
        its status was not in ``sources``; then nothing was changed). ``also`` runs in the same
        transaction after the row is updated (only when it moves); if it raises, the whole move
        is rolled back.
        """

        async def run(conn: AsyncConnection) -> tuple[Withdrawal, list[Event], bool]:
            current = await self._rows.get(conn, withdrawal_id, for_update=True)
            if current is None:
                raise WithdrawalNotFound(f"no withdrawal {withdrawal_id!r}")
            if current.status not in sources:
                return current, [], False
            move = check_transition(current.status, target)
            now = self._now()
            if move.effect is HoldEffect.VOID:
                await self._release_limit(conn, current)  # day row before balances: fixed order
                await self._ledger.void(current.hold_id, conn=conn)
            elif move.effect is HoldEffect.POST:
                await self._ledger.post(current.hold_id, conn=conn)
            moved = replace(
                current,
                status=target,
                updated_at=now,
                transfer_id=current.transfer_id if transfer_id is None else transfer_id,
                tx_hash=current.tx_hash if tx_hash is None else tx_hash,
                error=current.error if error is None else _short(error),
            )
            await self._rows.update_status(conn, moved)
            if also is not None:
                await also(conn, moved)
            drafts = [status_draft(moved, await self.code(conn, moved))]
            if move.effect in (HoldEffect.POST, HoldEffect.VOID):
                delta = current.amount if move.effect is HoldEffect.VOID else 0
                drafts.append(await self.balance_draft(conn, moved, delta))
            return moved, await record_events(conn, drafts, now), True

        withdrawal, events, moved = await self._store.run(run)
        await publish_quietly(self._publisher, events)
        return withdrawal, moved

    async def _release_limit(self, conn: AsyncConnection, w: Withdrawal) -> None:
        """Give a failed withdrawal's amount back to its day's total."""
        total = await self._rows.lock_day(conn, w.player_id, w.asset_id, w.limit_day, create=False)
        await self._rows.write_day(
            conn, w.player_id, w.asset_id, w.limit_day, max(0, total - w.amount)
        )

    async def balance_draft(self, conn: AsyncConnection, w: Withdrawal, delta: int) -> EventDraft:
        """balance_changed for the player; ``delta`` is the change of the available balance."""
        balance = await self._ledger.balance(player_account(w.player_id), w.asset_id, conn=conn)
        code = await self.code(conn, w)
        return balance_draft(w, code, delta, balance.available, balance.held)

    async def code(self, conn: AsyncConnection, w: Withdrawal) -> str:
        """The display code (symbol) of ``w``'s token, for its events."""
        asset = (await self._ledger.get_assets([w.asset_id], conn=conn)).get(w.asset_id)
        return asset.symbol if isinstance(asset, Token) else w.asset_id
