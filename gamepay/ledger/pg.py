"""``PostgresOps``: a posting in one round trip, through the ``gp_post`` function.

``gp_post`` (revision ``0007_balance_slots``) runs the posting skeleton server-side: lock the
balances in key order, check funds and range, claim the idempotency key, insert the transfers,
write the balances. It is called on the asyncpg connection under the caller's
``AsyncConnection`` (same transaction; its SQL text is fixed, so asyncpg prepares it once per
connection), so a transfer costs BEGIN, one statement and COMMIT.

No hot accounts: a player's balance is one row, locked and exact; a system account's is spread
over ``BALANCE_SLOTS`` rows. A posting that cannot overdraw it (a credit, or any posting on an
account that may go negative) changes one random slot; a debit of a system account that may not
go negative locks every slot in slot order (all of them exist first, so none can appear unseen)
and checks their sum: race-free, since every other posting only adds to a slot. Each slot stays
within +-(2**256-1)/51, so the sum stays within +-(2**256-1); a slot that would leave that bound
sends the posting down the exact path (every slot locked, the sum checked, spread if needed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.core.money import MAX_AMOUNT
from gamepay.errors import IdempotencyConflict
from gamepay.ledger.ops import BalanceKey, Claim, KeyChange, Mode, Outcome, TransferRow
from gamepay.store.rows import postgres_driver
from gamepay.store.schema.ledger import BALANCE_SLOTS

__all__ = ["PostgresOps", "is_taken_id", "outcome_of", "post_args"]

_POST = (
    "SELECT outcome, out_account, out_asset, out_available, out_held FROM gp_post("
    "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,"
    " $20, $21, $22)"
)
_UNIQUE_VIOLATION = "23505"
_LOCK_SLOTS = "SELECT total_available FROM gp_lock_slots($1, $2, $3)"
_LOCK_ROW = (
    "SELECT available FROM gp_balances WHERE account_id = $1 AND asset = $2 AND slot = 0 FOR UPDATE"
)


def post_args(changes: Sequence[KeyChange], rows: list[TransferRow], claim: Claim) -> list[Any]:
    """``gp_post``'s 22 arguments for a posting, in order."""
    columns = list(zip(*rows, strict=True))
    return [
        claim.kind,
        claim.id,
        claim.arg,
        claim.posted,
        [c.key[0] for c in changes],
        [c.key[1] for c in changes],
        [int(c.mode) for c in changes],
        [c.available for c in changes],
        [c.held for c in changes],
        *(list(column) for column in columns[:10]),
        rows[0][10],
        BALANCE_SLOTS,
        MAX_AMOUNT,
    ]


def outcome_of(answer: Sequence[Any]) -> Outcome:
    """The ``Outcome`` of ``gp_post``'s answer rows (other rows a caller's function adds to
    them, with another ``outcome``, are left out)."""
    first = answer[0]
    outcome = first["outcome"]
    if outcome in ("funds", "range"):
        return Outcome(outcome, (first["out_account"], first["out_asset"]))
    if outcome == "taken":
        return Outcome("taken")
    return Outcome(
        balances={
            (r["out_account"], r["out_asset"]): (int(r["out_available"]), int(r["out_held"]))
            for r in answer
            if r["outcome"] == "ok"
        }
    )


def is_taken_id(exc: BaseException) -> bool:
    """Whether a driver error is a unique violation (a transfer id of the posting is taken)."""
    return getattr(exc, "sqlstate", None) == _UNIQUE_VIOLATION


class PostgresOps:
    """PostgreSQL: every posting is one ``gp_post`` call on the driver."""

    async def post(
        self,
        conn: AsyncConnection,
        changes: Sequence[KeyChange],
        rows: list[TransferRow],
        claim: Claim,
    ) -> Outcome:
        """One ``gp_post`` call; its answer as an ``Outcome``."""
        driver = await postgres_driver(conn)
        try:
            answer = await driver.fetch(_POST, *post_args(changes, rows, claim))
        except Exception as exc:
            if is_taken_id(exc):
                raise IdempotencyConflict("a transfer id of this posting is taken") from exc
            raise
        return outcome_of(answer)

    async def available_for_update(self, conn: AsyncConnection, key: BalanceKey, mode: Mode) -> int:
        """A player's one row locked, or every slot of a system account's balance locked."""
        driver = await postgres_driver(conn)
        if mode is Mode.PLAYER:
            value = await driver.fetchval(_LOCK_ROW, *key)
        else:
            value = await driver.fetchval(_LOCK_SLOTS, *key, BALANCE_SLOTS)
        return 0 if value is None else int(value)
