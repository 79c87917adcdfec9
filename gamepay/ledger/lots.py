"""The lots of time-limited grants: every statement on ``gp_lots``, and the pure rules over them.

The ledger owns the table; the areas that grant timed amounts (``gamepay.inventory``, the
payments' timed purchases) call these functions inside their own transaction.

A grant with a duration writes one lot (``lot_rows``) in the transaction of its ledger batch; a
lot's id is the grant's transfer id, so one grant has at most one lot. Rules (pure, tested):

- a lot counts until ``expires_at`` (exclusive): at ``now >= expires_at`` it is expired;
- a spend consumes the player's unexpired lots of its asset, earliest expiry first (ties by
  id), and only then the untimed part of the balance (``consume``);
- an expired lot's remaining amount stops counting at once (``hidden``: capped by what the
  player has available, since other areas may spend an asset without consuming its lots), and
  the sweep posts it back to the issuer under ``expiry_transfer_id(lot id)``.

Lock order, everywhere: the player's ledger balance row first, then the lots (PostgreSQL
``FOR UPDATE``; SQLite serializes writers).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.store.schema.lots import lots_table

__all__ = [
    "MAX_DURATION_S",
    "Lot",
    "LotState",
    "consume",
    "due_lots",
    "expired_by_asset",
    "expiry_transfer_id",
    "hidden",
    "insert_lots",
    "lock_lot",
    "lot_row",
    "lots_by_id",
    "mark_expired",
    "open_lots",
    "retire_lot",
    "set_remaining",
]

_L = lots_table.c

MAX_DURATION_S = 100 * 366 * 86400
"""The longest duration a timed grant may carry: about a century, in seconds."""


class LotState(StrEnum):
    """A lot is open (something remains), used (spent in full) or expired (swept)."""

    OPEN = "open"
    USED = "used"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Lot:
    """One timed grant: ``remaining`` of ``amount`` base units of an asset, until ``expires_at``."""

    id: str
    player_id: str
    asset_id: str
    amount: int
    remaining: int
    duration_s: int
    expires_at: datetime
    created_at: datetime
    state: LotState
    expiry_transfer_id: str | None = None
    expired_amount: int | None = None

    def expired(self, now: datetime) -> bool:
        """True from ``expires_at`` on."""
        return now >= self.expires_at

    @classmethod
    def from_row(cls, row: Any) -> Lot:
        """A lot from a ``gp_lots`` row mapping."""
        return cls(
            id=row["id"],
            player_id=row["player_id"],
            asset_id=row["asset_id"],
            amount=int(row["amount"]),
            remaining=int(row["remaining"]),
            duration_s=int(row["duration_s"]),
            expires_at=row["expires_at"],
            created_at=row["created_at"],
            state=LotState(row["state"]),
            expiry_transfer_id=row["expiry_transfer_id"],
            expired_amount=None if row["expired_amount"] is None else int(row["expired_amount"]),
        )


def expiry_transfer_id(lot_id: str) -> str:
    """The id of the transfer that expires a lot: derived from the lot id alone, so a re-run
    or two replicas sweeping at once can never post it twice."""
    return "expiry:" + hashlib.sha256(lot_id.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def lot_row(
    lot_id: str,
    player_id: str,
    asset_id: str,
    amount: int,
    duration_s: int,
    granted_at: datetime,
    *,
    expires_at: datetime | None = None,
) -> dict[str, Any]:
    """The ``gp_lots`` row of a fresh timed grant made at ``granted_at``, expiring
    ``duration_s`` later (or at ``expires_at`` when given: a subscription's pass)."""
    return {
        "id": lot_id,
        "player_id": player_id,
        "asset_id": asset_id,
        "amount": amount,
        "remaining": amount,
        "duration_s": duration_s,
        "expires_at": expires_at or granted_at + timedelta(seconds=duration_s),
        "created_at": granted_at,
        "state": str(LotState.OPEN),
        "expiry_transfer_id": None,
        "expired_amount": None,
    }


def consume(lots: Sequence[Lot], amount: int, now: datetime) -> dict[str, int]:
    """What a spend of ``amount`` leaves in each lot it touches (by lot id): unexpired lots,
    earliest expiry first; whatever they do not cover comes from the untimed part."""
    left = amount
    after: dict[str, int] = {}
    for lot in sorted(lots, key=lambda lot: (lot.expires_at, lot.id)):
        if left == 0:
            break
        if lot.state is not LotState.OPEN or lot.expired(now) or lot.remaining == 0:
            continue
        taken = min(lot.remaining, left)
        after[lot.id] = lot.remaining - taken
        left -= taken
    return after


def hidden(available: int, expired: int) -> int:
    """How much of an available balance expired lots hide: their remaining amount, capped by
    the balance (never a negative balance shown)."""
    return min(max(available, 0), expired)


async def insert_lots(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Write fresh lots in the caller's transaction."""
    if rows:
        await conn.execute(insert(lots_table), list(rows))


async def lots_by_id(conn: AsyncConnection, ids: Iterable[str]) -> dict[str, Lot]:
    """The lots with these ids (unknown ids left out)."""
    wanted = list(ids)
    if not wanted:
        return {}
    rows = await conn.execute(select(lots_table).where(_L.id.in_(wanted)))
    return {lot.id: lot for lot in map(Lot.from_row, rows.mappings())}


async def open_lots(
    conn: AsyncConnection, player_id: str, asset_id: str, *, lock: bool = False
) -> list[Lot]:
    """The player's open lots of one asset, earliest expiry first (locked if asked)."""
    query = (
        select(lots_table)
        .where(
            (_L.player_id == player_id)
            & (_L.asset_id == asset_id)
            & (_L.state == str(LotState.OPEN))
        )
        .order_by(_L.expires_at, _L.id)
    )
    if lock:
        query = query.with_for_update()
    return [Lot.from_row(row) for row in (await conn.execute(query)).mappings()]


async def expired_by_asset(conn: AsyncConnection, player_id: str, now: datetime) -> dict[str, int]:
    """The remaining amount of the player's expired, not yet swept lots, by asset id."""
    rows = await conn.execute(
        select(_L.asset_id, _L.remaining).where(
            (_L.player_id == player_id) & (_L.state == str(LotState.OPEN)) & (_L.expires_at <= now)
        )
    )
    totals: dict[str, int] = {}
    for asset_id, remaining in rows:
        totals[asset_id] = totals.get(asset_id, 0) + int(remaining)
    return totals


async def due_lots(conn: AsyncConnection, now: datetime, limit: int) -> list[Lot]:
    """Up to ``limit`` open lots expired at ``now``, earliest expiry first."""
    query = (
        select(lots_table)
        .where((_L.state == str(LotState.OPEN)) & (_L.expires_at <= now))
        .order_by(_L.expires_at, _L.id)
        .limit(limit)
    )
    return [Lot.from_row(row) for row in (await conn.execute(query)).mappings()]


async def lock_lot(conn: AsyncConnection, lot_id: str) -> Lot | None:
    """The lot, locked until the transaction ends, or None."""
    query = select(lots_table).where(_L.id == lot_id).with_for_update()
    row = (await conn.execute(query)).mappings().first()
    return None if row is None else Lot.from_row(row)


async def set_remaining(conn: AsyncConnection, lot_id: str, remaining: int) -> None:
    """Record what a spend left in a lot (``used`` once nothing remains)."""
    state = LotState.OPEN if remaining > 0 else LotState.USED
    await conn.execute(
        update(lots_table).where(_L.id == lot_id).values(remaining=remaining, state=str(state))
    )


async def retire_lot(conn: AsyncConnection, lot_id: str, now: datetime) -> None:
    """Make an open lot expire at ``now`` if it would expire later (a subscription's old pass,
    replaced by the renewed one); the sweep then posts it back."""
    await conn.execute(
        update(lots_table)
        .where((_L.id == lot_id) & (_L.state == str(LotState.OPEN)) & (_L.expires_at > now))
        .values(expires_at=now)
    )


async def mark_expired(conn: AsyncConnection, lot_id: str, transfer_id: str, amount: int) -> None:
    """Record a swept lot: ``amount`` went back to the issuer in ``transfer_id``."""
    await conn.execute(
        update(lots_table)
        .where(_L.id == lot_id)
        .values(
            remaining=0,
            state=str(LotState.EXPIRED),
            expiry_transfer_id=transfer_id,
            expired_amount=amount,
        )
    )
