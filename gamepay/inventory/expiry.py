"""The expiry sweep: what is left of each expired lot goes back to its issuer, once.

Each lot is expired in a transaction of its own: lock the player's balance row, then the lot;
a lot no longer open (another replica swept it, or spends used it up) is skipped. The amount
posted is what remains of the lot, capped by what the player has available (an area that spent
the asset without consuming lots, or a trade's hold, may have taken some); the transfer's id is
``expiry_transfer_id(lot id)`` (kind ``expiry``, player -> ``issuer:<asset>``), so a re-run or
two replicas at once never post twice, and ``verify()`` holds. A fresh expiry writes one
``balance_changed`` event (reason ``expired``) in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.bus.outbox import EventDraft, record_events
from gamepay.core.accounts import issuer_account, player_account
from gamepay.core.events import Event, EventType
from gamepay.core.transfers import TransferKind, TransferSpec
from gamepay.errors import InvalidInput
from gamepay.ledger import Ledger
from gamepay.ledger.lots import (
    Lot,
    LotState,
    due_lots,
    expired_by_asset,
    expiry_transfer_id,
    hidden,
    lock_lot,
    mark_expired,
)

__all__ = ["MAX_SWEEP", "SweepReport", "sweep"]

MAX_SWEEP = 10_000
"""The most lots one sweep call expires (the rest wait for the next one)."""


@dataclass(frozen=True, slots=True)
class SweepReport:
    """What a sweep did: lots ``expired`` by it, lots ``skipped`` (swept or used up by someone
    else meanwhile), the base units sent back ``by_asset``, whether ``more`` are due, and the
    events it wrote."""

    expired: int = 0
    skipped: int = 0
    by_asset: dict[str, int] = field(default_factory=dict)
    more: bool = False
    events: tuple[Event, ...] = ()

    def summary(self) -> str:
        """One line for a log or a terminal."""
        moved = ", ".join(f"{amount} {asset}" for asset, amount in sorted(self.by_asset.items()))
        text = f"{self.expired} lot(s) expired ({moved or 'nothing moved'}), {self.skipped} skipped"
        return text + ("; more are due" if self.more else "")


async def _expire(
    ledger: Ledger, conn: AsyncConnection, lot: Lot, now: datetime
) -> tuple[int, list[Event]] | None:
    """Expire one lot in ``conn``: the amount posted and the events, or None when it is no
    longer open."""
    player = player_account(lot.player_id)
    available = await ledger.available_for_update(player, lot.asset_id, conn=conn)
    current = await lock_lot(conn, lot.id)
    if current is None or current.state is not LotState.OPEN:
        return None
    amount = min(current.remaining, max(available, 0))
    transfer_id = expiry_transfer_id(lot.id)
    events: list[Event] = []
    if amount > 0:
        spec = TransferSpec(
            player,
            issuer_account(lot.asset_id),
            lot.asset_id,
            amount,
            TransferKind.EXPIRY,
            f"lot {lot.id} expired",
        )
        await ledger.transfer(transfer_id, spec, conn=conn)
    await mark_expired(conn, lot.id, transfer_id, amount)
    if amount > 0:
        after = await ledger.balance(player, lot.asset_id, conn=conn)
        still = (await expired_by_asset(conn, lot.player_id, now)).get(lot.asset_id, 0)
        draft = EventDraft(
            lot.player_id,
            EventType.BALANCE_CHANGED,
            {
                "posting_id": transfer_id,
                "reason": "expired",
                "asset_id": lot.asset_id,
                "delta": str(-amount),
                "available": str(after.available - hidden(after.available, still)),
                "held": str(after.held),
            },
        )
        events = await record_events(conn, [draft], now)
    return amount, events


async def sweep(ledger: Ledger, now: datetime, *, limit: int = 500) -> SweepReport:
    """Expire up to ``limit`` lots due at ``now``, earliest first; see the module docstring."""
    if type(limit) is not int or not 0 < limit <= MAX_SWEEP:
        raise InvalidInput(f"limit must be an int in 1..{MAX_SWEEP}")

    async def due(conn: AsyncConnection) -> list[Lot]:
        return await due_lots(conn, now, limit + 1)

    lots = await ledger.store.read(due)
    more = len(lots) > limit
    expired = skipped = 0
    by_asset: dict[str, int] = {}
    events: list[Event] = []
    for lot in lots[:limit]:

        async def run(conn: AsyncConnection, lot: Lot = lot) -> tuple[int, list[Event]] | None:
            return await _expire(ledger, conn, lot, now)

        done = await ledger.store.run(run)
        if done is None:
            skipped += 1
            continue
        expired += 1
        amount, fresh = done
        if amount:
            by_asset[lot.asset_id] = by_asset.get(lot.asset_id, 0) + amount
        events.extend(fresh)
    return SweepReport(expired, skipped, by_asset, more, tuple(events))
