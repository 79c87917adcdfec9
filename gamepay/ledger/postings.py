"""The one posting skeleton every ledger write goes through: a transfer is a batch of one.

``Postings.apply`` runs a ``Posting`` (the accounts and assets it needs, its balance deltas, the
transfer rows it appends) in the caller's transaction, always in the same steps:

1. **require**: the accounts and assets exist (``LedgerCache``: usually no query);
2. **lock**: the balance rows, created at zero when missing, in (account, asset) order;
3. **check**: no account that may not go negative has spent below zero, no balance leaves
   +-(2**256-1); on failure a replay of the same id answers instead (a replayed id is recognised
   even when its funds are gone), else the error is raised;
4. **claim** the idempotency key (the transfer's id, the batch row, the hold row...): when it is
   taken, the replay answers (or IdempotencyConflict for other content);
5. **insert** the transfer rows and **write** the changed balances.

Steps 2-5 are the backend's (``gamepay.ledger.ops``): statements on the driver on SQLite, one
``gp_post`` call on PostgreSQL (``gamepay.ledger.pg``). Nothing is written before step 4, so a
refused posting leaves the transaction untouched.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn, TypeVar, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.core.accounts import Account, AccountKind
from gamepay.core.transfers import TransferKind, TransferSpec
from gamepay.errors import AmountRangeError, IdempotencyConflict, InsufficientFunds
from gamepay.ledger.cache import LedgerCache
from gamepay.ledger.ops import Claim, KeyChange, LedgerOps, Mode, Outcome, TransferRow
from gamepay.ledger.records import Balance, BatchRecord, TransferRecord
from gamepay.ledger.rows import TRANSFER_COLUMNS, transfer_record
from gamepay.store.schema.ledger import batches_table, transfers_table

__all__ = [
    "Applied",
    "Key",
    "Posting",
    "Postings",
    "RowDraft",
    "applied",
    "batch_posting",
    "batch_record",
    "mode_of",
    "refuse",
]

Key = tuple[str, str]
"""(account id, asset id)."""

RowDraft = tuple[str, str | None, str | None, str | None, str, str, str, int, str, str | None]
"""A transfer row without its ``created_at`` (``TRANSFER_FIELDS`` order)."""

R = TypeVar("R")

_T = transfers_table.c
_BT = batches_table.c


def mode_of(account: Account) -> Mode:
    """How the backend keeps an account's balances (``gamepay.ledger.ops.Mode``)."""
    if account.kind is AccountKind.PLAYER:
        return Mode.PLAYER
    return Mode.NEGATIVE if account.allow_negative else Mode.GUARDED


def refuse(outcome: Outcome) -> NoReturn:
    """Raise the error of a refused posting that is no replay (``funds``, ``range``, ``taken``)."""
    if outcome.refused == "taken" or outcome.key is None:
        raise IdempotencyConflict("the id of this posting is taken")
    account, asset = outcome.key
    if outcome.refused == "funds":
        raise InsufficientFunds(f"{account!r} cannot cover this {asset} transfer")
    raise AmountRangeError(f"the {asset} balance of {account!r} would leave 2**256")


def applied(posting: Posting, outcome: Outcome, now: datetime) -> Applied:
    """What a written posting did: the balances it changed as the backend vouches for them."""
    deltas = posting.deltas
    balances = {k: Balance(*v) for k, v in outcome.balances.items() if deltas[k] != (0, 0)}
    return Applied(now, balances)


@dataclass(slots=True)
class Posting:
    """One atomic change: the ``accounts``/``assets`` it needs, per-(account, asset) deltas of
    [available, held], and the transfer rows it appends (in order)."""

    accounts: Iterable[str]
    assets: Iterable[str]
    deltas: Mapping[Key, tuple[int, int]]
    rows: Sequence[RowDraft]


@dataclass(frozen=True, slots=True)
class Applied:
    """What a fresh posting did: when, and the balances it changed as it left them (those the
    backend vouches for: every player's; a system account's spread over slots is left out)."""

    at: datetime
    balances: dict[Key, Balance]


class Postings:
    """The skeleton (``apply``) and the plain writes on it: ``transfer`` and ``batch``."""

    def __init__(self, ops: LedgerOps, cache: LedgerCache, now: Callable[[], datetime]) -> None:
        self.ops = ops
        self.cache = cache
        self.now = now

    async def apply(
        self,
        conn: AsyncConnection,
        posting: Posting,
        replay: Callable[[], Awaitable[R | None]],
        done: Callable[[Applied], R],
        claim: Claim,
    ) -> R:
        """Run ``posting``: require -> lock -> check -> replay -> claim -> insert -> write.

        ``claim`` takes the idempotency key; ``replay`` returns the earlier result of this id
        (None if there is none) or raises IdempotencyConflict; ``done`` builds the result of a
        fresh posting.
        """
        changes, rows, now = await self.prepare(conn, posting)
        outcome = await self.ops.post(conn, changes, rows, claim)
        if outcome.refused is not None:
            earlier = await replay()
            if earlier is not None:
                return earlier
            refuse(outcome)
        return done(applied(posting, outcome, now))

    async def prepare(
        self, conn: AsyncConnection, posting: Posting
    ) -> tuple[list[KeyChange], list[TransferRow], datetime]:
        """Step 1 (require) and what the backend gets: the sorted key changes, the rows, now."""
        accounts = await self.cache.require(conn, posting.accounts, posting.assets)
        changes = [
            KeyChange(key, mode_of(accounts[key[0]]), available, held)
            for key, (available, held) in sorted(posting.deltas.items())
        ]
        now = self.now()
        rows: list[TransferRow] = [(*draft, now) for draft in posting.rows]
        return changes, rows, now

    # ---------------------------------------------------------------- transfers

    async def get_transfer_row(self, conn: AsyncConnection, transfer_id: str) -> object | None:
        """The stored row of a transfer id (``TRANSFER_COLUMNS``), or None."""
        result = await conn.execute(select(*TRANSFER_COLUMNS).where(_T.id == transfer_id))
        return result.first()

    async def transfer(
        self, conn: AsyncConnection, transfer_id: str, spec: TransferSpec
    ) -> TransferRecord:
        """One transfer: a posting of one row whose id is its idempotency key."""
        debit_key = (spec.debit, spec.asset)
        credit_key = (spec.credit, spec.asset)
        kind = str(spec.kind)
        posting = Posting(
            (spec.debit, spec.credit),
            (spec.asset,),
            {debit_key: (-spec.amount, 0), credit_key: (spec.amount, 0)},
            [
                (
                    transfer_id,
                    None,
                    None,
                    None,
                    spec.debit,
                    spec.credit,
                    spec.asset,
                    spec.amount,
                    kind,
                    spec.memo,
                )
            ],
        )

        async def replay() -> TransferRecord | None:
            row = await self.get_transfer_row(conn, transfer_id)
            if row is None:
                return None
            record = transfer_record(row)
            same = (
                record.batch_id is None
                and record.hold_id is None
                and (record.debit, record.credit, record.asset, record.amount, str(record.kind))
                == (spec.debit, spec.credit, spec.asset, spec.amount, kind)
                and record.memo == spec.memo
            )
            if not same:
                raise IdempotencyConflict(
                    f"transfer id {transfer_id!r} was used for another transfer"
                )
            return record

        def done(applied: Applied) -> TransferRecord:
            return TransferRecord(
                id=transfer_id,
                debit=spec.debit,
                credit=spec.credit,
                asset=spec.asset,
                amount=spec.amount,
                kind=TransferKind(spec.kind),
                memo=spec.memo,
                created_at=applied.at,
            )

        return await self.apply(conn, posting, replay, done, Claim("transfer", transfer_id))

    # ---------------------------------------------------------------- batches

    async def batch(
        self, conn: AsyncConnection, batch_id: str, specs: list[TransferSpec], digest: str
    ) -> BatchRecord:
        """Transfers ``<batch_id>/<index>``, checked on their net effect; keyed by the batch row."""
        posting = batch_posting(batch_id, specs)

        async def replay() -> BatchRecord | None:
            row = (
                await conn.execute(
                    select(_BT.content_hash, _BT.created_at).where(_BT.id == batch_id)
                )
            ).first()
            if row is None:
                return None
            if row.content_hash != digest:
                raise IdempotencyConflict(f"batch id {batch_id!r} was used for other transfers")
            rows = await conn.execute(
                select(*TRANSFER_COLUMNS).where(_T.batch_id == batch_id).order_by(_T.seq)
            )
            return BatchRecord(
                id=batch_id,
                transfers=tuple(transfer_record(r) for r in rows),
                created_at=row.created_at,
            )

        def done(applied: Applied) -> BatchRecord:
            return batch_record(batch_id, specs, applied)

        return await self.apply(conn, posting, replay, done, Claim("batch", batch_id, digest))


def batch_posting(batch_id: str, specs: Sequence[TransferSpec]) -> Posting:
    """The posting of a batch: transfers ``<batch_id>/<index>``, deltas netted per key."""
    accounts: set[str] = set()
    assets: set[str] = set()
    net: dict[Key, int] = defaultdict(int)
    drafts: list[RowDraft] = []
    for i, s in enumerate(specs):
        accounts.add(s.debit)
        accounts.add(s.credit)
        assets.add(s.asset)
        net[(s.debit, s.asset)] -= s.amount
        net[(s.credit, s.asset)] += s.amount
        drafts.append(
            (
                f"{batch_id}/{i}",
                batch_id,
                None,
                None,
                s.debit,
                s.credit,
                s.asset,
                s.amount,
                str(s.kind),
                s.memo,
            )
        )
    return Posting(accounts, assets, {k: (d, 0) for k, d in net.items()}, drafts)


def batch_record(batch_id: str, specs: Sequence[TransferSpec], applied: Applied) -> BatchRecord:
    """The record of a batch this call wrote."""
    now = applied.at
    records = tuple(
        TransferRecord(
            f"{batch_id}/{i}",
            s.debit,
            s.credit,
            s.asset,
            s.amount,
            cast(TransferKind, s.kind),
            s.memo,
            now,
            batch_id,
        )
        for i, s in enumerate(specs)
    )
    return BatchRecord(id=batch_id, transfers=records, created_at=now, balances=applied.balances)
