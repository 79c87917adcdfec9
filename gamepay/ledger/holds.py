"""Holds: two-phase transfers written as immutable transfers (``gamepay.core.holds``).

A hold writes its pending transfer and its ``gp_holds`` row; a post or a void writes one transfer
linked to it (``hold_id``) and moves the row along the transition table, all through the one
posting skeleton (``Postings.apply``). The ``gp_holds`` row is the idempotency key of a hold and
the lock that serializes its resolution (``SELECT ... FOR UPDATE`` on PostgreSQL).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.core.holds import (
    OPEN,
    HoldStatus,
    TransferPhase,
    check_resolution,
    effect,
    phase_transfer_id,
)
from gamepay.core.transfers import TransferKind, TransferSpec
from gamepay.errors import HoldNotFound, IdempotencyConflict
from gamepay.ledger.ops import Claim
from gamepay.ledger.postings import Applied, Posting, Postings, RowDraft
from gamepay.ledger.records import HoldRecord
from gamepay.ledger.rows import HOLD_COLUMNS, hold_record
from gamepay.store.schema.ledger import holds_table

__all__ = ["Holds", "hold_transfer_id"]

_H = holds_table.c


def hold_transfer_id(hold_id: str) -> str:
    """The id of the transfer a posted hold writes: ``hold:<hold id>``."""
    return phase_transfer_id(hold_id, TransferPhase.POST)


def _draft(
    hold: HoldRecord | TransferSpec, hold_id: str, phase: TransferPhase, amount: int
) -> RowDraft:
    return (
        phase_transfer_id(hold_id, phase),
        None,
        hold_id,
        str(phase),
        hold.debit,
        hold.credit,
        hold.asset,
        amount,
        str(hold.kind),
        hold.memo,
    )


class Holds:
    """Hold, post and void on the posting skeleton."""

    def __init__(self, postings: Postings) -> None:
        self.postings = postings

    @staticmethod
    async def row(conn: AsyncConnection, hold_id: str, *, lock: bool = False) -> Any:
        """The hold's row (``HOLD_COLUMNS``), locked for update if asked, or None."""
        query = select(*HOLD_COLUMNS).where(_H.id == hold_id)
        if lock:
            query = query.with_for_update()
        return (await conn.execute(query)).first()

    async def hold(self, conn: AsyncConnection, hold_id: str, spec: TransferSpec) -> HoldRecord:
        """Reserve ``spec.amount`` (available -> held) and write the pending transfer."""
        amount = spec.amount
        available, held, _ = effect(OPEN.phase, amount, amount)
        posting = Posting(
            (spec.debit, spec.credit),
            (spec.asset,),
            {(spec.debit, spec.asset): (available, held)},
            [_draft(spec, hold_id, OPEN.phase, amount)],
        )

        async def replay() -> HoldRecord | None:
            row = await self.row(conn, hold_id)
            if row is None:
                return None
            record = hold_record(row)
            same = (record.debit, record.credit, record.asset, record.amount, str(record.kind)) == (
                spec.debit,
                spec.credit,
                spec.asset,
                amount,
                str(spec.kind),
            ) and record.memo == spec.memo
            if not same:
                raise IdempotencyConflict(f"hold id {hold_id!r} was used for another hold")
            return record

        def done(applied: Applied) -> HoldRecord:
            return HoldRecord(
                id=hold_id,
                debit=spec.debit,
                credit=spec.credit,
                asset=spec.asset,
                amount=amount,
                kind=TransferKind(spec.kind),
                memo=spec.memo,
                status=OPEN.target,
                created_at=applied.at,
            )

        return await self.postings.apply(conn, posting, replay, done, Claim("hold", hold_id))

    async def resolve(
        self, conn: AsyncConnection, hold_id: str, target: HoldStatus, amount: int | None
    ) -> HoldRecord:
        """Post (``amount`` None: all of it) or void a hold, writing its post/void transfer."""
        row = await self.row(conn, hold_id, lock=True)
        if row is None:
            raise HoldNotFound(f"no hold {hold_id!r}")
        hold = hold_record(row)
        move = check_resolution(
            hold_id, hold.status, hold.amount, hold.posted_amount, target, amount
        )
        if move.transition is None:
            return hold
        phase = move.transition.phase
        debit_available, debit_held, credit_available = effect(phase, hold.amount, move.amount)
        deltas = {(hold.debit, hold.asset): (debit_available, debit_held)}
        if credit_available:
            deltas[(hold.credit, hold.asset)] = (credit_available, 0)
        posting = Posting(
            (hold.debit, hold.credit),
            (hold.asset,),
            deltas,
            [_draft(hold, hold_id, phase, move.amount)],
        )
        posted = move.amount if move.transition.target is HoldStatus.POSTED else None

        async def replay() -> HoldRecord | None:
            return None  # the locked row was pending: nothing to replay

        def done(applied: Applied) -> HoldRecord:
            return HoldRecord(
                id=hold.id,
                debit=hold.debit,
                credit=hold.credit,
                asset=hold.asset,
                amount=hold.amount,
                kind=hold.kind,
                memo=hold.memo,
                status=target,
                created_at=hold.created_at,
                posted_amount=posted,
                resolved_at=applied.at,
            )

        claim = Claim("resolve", hold_id, str(target), posted)
        return await self.postings.apply(conn, posting, replay, done, claim)
