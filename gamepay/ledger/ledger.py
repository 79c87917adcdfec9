"""``Ledger``: exact double-entry balances over a ``Store``: the API other areas call.

Every write runs in one transaction: its own (through ``store.run``, retried on conflicts) or the
caller's when ``conn=`` is given (then nothing is committed or retried here; the caller's
``store.run`` retries the whole unit). Every write goes through one skeleton
(``gamepay.ledger.postings``): nothing is written before every check has passed, so a refused
operation leaves the caller's transaction untouched.

Balance rows are locked (``SELECT ... FOR UPDATE`` on PostgreSQL, ordered by account and asset;
SQLite writers are serialized by ``BEGIN IMMEDIATE``), the new balances are computed exactly in
Python and written back. A batch is checked on its net effect per account: it is atomic, so no
intermediate state is ever visible. Holds are two-phase transfers (``gamepay.core.holds``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.core.accounts import Account, AccountKind, check_account_id
from gamepay.core.assets import Asset
from gamepay.core.holds import HoldStatus
from gamepay.core.money import check_amount
from gamepay.core.transfers import TransferSpec, batch_content_hash
from gamepay.errors import (
    AccountError,
    AccountMismatch,
    AccountNotFound,
    HoldNotFound,
    InvalidInput,
)
from gamepay.ledger.cache import LedgerCache
from gamepay.ledger.holds import Holds, hold_transfer_id
from gamepay.ledger.ops import Claim, LedgerOps, SqliteOps
from gamepay.ledger.pg import PostgresOps, post_args
from gamepay.ledger.postings import Postings, batch_posting, mode_of
from gamepay.ledger.prepared import PreparedBatch
from gamepay.ledger.reads import (
    MAX_HISTORY,
    count_transfers,
    parse_cursor,
    read_balance,
    read_balances,
    read_history,
)
from gamepay.ledger.records import (
    Balance,
    BatchRecord,
    HistoryPage,
    HoldRecord,
    TransferRecord,
    Verification,
    VerifyReport,
)
from gamepay.ledger.rows import (
    account_from_row,
    asset_from_row,
    asset_row,
    check_id,
    check_same_account,
    hold_record,
    same_asset,
    transfer_record,
)
from gamepay.ledger.verify import last_verification, record_verification, verify
from gamepay.store import Store
from gamepay.store.rows import RowInsert
from gamepay.store.schema.ledger import accounts_table, assets_table

__all__ = ["Clock", "Ledger", "hold_transfer_id"]

Clock = Callable[[], datetime]
"""Returns the current time as an aware UTC datetime."""

_A = assets_table.c
_C = accounts_table.c


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Ledger:
    """The double-entry ledger over a ``Store`` (call ``store.migrate()`` first).

    ``clock`` returns aware UTC datetimes (default: the system clock).
    """

    def __init__(self, store: Store, clock: Clock | None = None) -> None:
        self.store = store
        self._clock: Clock = clock or _utc_now
        self._cache = LedgerCache()
        ops: LedgerOps = SqliteOps() if store.dialect == "sqlite" else PostgresOps()
        self._ops = ops
        self._postings = Postings(ops, self._cache, self._now)
        self._holds = Holds(self._postings)
        self._insert_account = RowInsert(
            accounts_table, ("id", "kind", "allow_negative", "created_at"), conflict=("id",)
        )
        self._insert_asset = RowInsert(assets_table, tuple(_A.keys()), conflict=("id",))

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise InvalidInput("the ledger clock must return timezone-aware datetimes")
        return now.astimezone(UTC)

    async def _in_tx(
        self, conn: AsyncConnection | None, fn: Callable[[AsyncConnection], Awaitable[Any]]
    ) -> Any:
        if conn is not None:
            return await fn(conn)
        # On PostgreSQL a posting is one gp_post statement: run alone, it is its own
        # transaction (one round trip); SQLite queues it like any write
        return await self.store.run_single(fn)

    async def _in_read(
        self, conn: AsyncConnection | None, fn: Callable[[AsyncConnection], Awaitable[Any]]
    ) -> Any:
        if conn is not None:
            return await fn(conn)
        return await self.store.read(fn)

    # ---------------------------------------------------------------- assets and accounts

    async def register_asset(self, asset: Asset) -> Asset:
        """Register an asset (idempotent); a different definition under its id: AccountMismatch.

        A known asset is answered from the ledger's cache without the database.
        """
        wanted = asset_row(asset)
        known = self._cache.assets.get(asset.id)
        if known is None:

            async def run(conn: AsyncConnection) -> Asset:
                await self._insert_asset.insert(conn, wanted)
                row = (await conn.execute(select(assets_table).where(_A.id == asset.id))).one()
                return asset_from_row(row)

            known = await self.store.run(run)
            self._cache.remember_asset(known)
        if not same_asset(asset_row(known), wanted):
            raise AccountMismatch(f"asset {asset.id!r} is registered with another definition")
        return asset

    async def get_assets(
        self, asset_ids: Iterable[str] | None = None, *, conn: AsyncConnection | None = None
    ) -> dict[str, Asset]:
        """The registered assets among ``asset_ids`` (all of them when None), by id.

        Unknown ids are left out; known ones are answered from the cache.
        """
        if asset_ids is not None:
            wanted = set(asset_ids)
            if wanted.issubset(self._cache.assets):
                return {a: self._cache.assets[a] for a in sorted(wanted)}

        async def run(c: AsyncConnection) -> dict[str, Asset]:
            if asset_ids is None:
                rows = await c.execute(select(assets_table).order_by(_A.id))
                for row in rows:
                    self._cache.remember_asset(asset_from_row(row))
                return dict(sorted(self._cache.assets.items()))
            await self._cache.load_assets(c, wanted)
            return {a: self._cache.assets[a] for a in sorted(wanted) if a in self._cache.assets}

        result: dict[str, Asset] = await self._in_read(conn, run)
        return result

    async def open_account(
        self,
        account_id: str,
        *,
        kind: AccountKind = AccountKind.PLAYER,
        allow_negative: bool = False,
    ) -> Account:
        """Open an account (idempotent with the same properties, else AccountMismatch).

        Only system accounts may be ``allow_negative`` (AccountError otherwise). A known account
        is answered from the ledger's cache without the database.
        """
        check_account_id(account_id)
        try:
            kind = AccountKind(kind)
        except ValueError:
            raise AccountError(f"unknown account kind: {kind!r}") from None
        if type(allow_negative) is not bool:
            raise AccountError("allow_negative must be a bool")
        if kind is AccountKind.PLAYER and allow_negative:
            raise AccountError("a player's account may never go negative")
        cached = self._cache.accounts.get(account_id)
        if cached is not None:
            check_same_account(cached, kind, allow_negative)
            return cached
        now = self._now()

        async def run(conn: AsyncConnection) -> Account:
            values = {
                "id": account_id,
                "kind": str(kind),
                "allow_negative": allow_negative,
                "created_at": now,
            }
            if await self._insert_account.insert(conn, values):
                return Account(account_id, kind, allow_negative, now)
            row = (await conn.execute(select(accounts_table).where(_C.id == account_id))).one()
            found = account_from_row(row)
            check_same_account(found, kind, allow_negative)
            return found

        account: Account = await self.store.run(run)
        self._cache.remember_account(account)
        return account

    async def get_account(self, account_id: str, *, conn: AsyncConnection | None = None) -> Account:
        """The account with that id, or AccountNotFound."""

        async def run(c: AsyncConnection) -> Account:
            row = (await c.execute(select(accounts_table).where(_C.id == account_id))).first()
            if row is None:
                raise AccountNotFound(f"no account {account_id!r}")
            return account_from_row(row)

        result: Account = await self._in_read(conn, run)
        return result

    # ---------------------------------------------------------------- transfers and batches

    async def transfer(
        self, transfer_id: str, spec: TransferSpec, *, conn: AsyncConnection | None = None
    ) -> TransferRecord:
        """Move ``spec.amount`` of ``spec.asset`` from ``spec.debit`` to ``spec.credit``.

        Replaying ``transfer_id`` with the same spec returns the original record; with another
        spec raises IdempotencyConflict. AccountNotFound, AssetNotFound, InsufficientFunds.
        """
        check_id(transfer_id, "transfer id")
        if not isinstance(spec, TransferSpec):
            raise InvalidInput("transfer takes a TransferSpec")

        async def run(c: AsyncConnection) -> TransferRecord:
            return await self._postings.transfer(c, transfer_id, spec)

        result: TransferRecord = await self._in_tx(conn, run)
        return result

    async def get_transfer(
        self, transfer_id: str, *, conn: AsyncConnection | None = None
    ) -> TransferRecord | None:
        """The stored transfer with that id, or None."""

        async def run(c: AsyncConnection) -> TransferRecord | None:
            row = await self._postings.get_transfer_row(c, transfer_id)
            return None if row is None else transfer_record(row)

        result: TransferRecord | None = await self._in_read(conn, run)
        return result

    async def batch(
        self,
        batch_id: str,
        specs: Sequence[TransferSpec],
        *,
        conn: AsyncConnection | None = None,
    ) -> BatchRecord:
        """Apply ``specs`` atomically (all or nothing), checked on their net effect per account.

        The transfers get ids ``<batch_id>/<index>``. Replaying ``batch_id`` with the same specs
        in the same order returns the original record; otherwise IdempotencyConflict.
        """
        specs = _batch_specs(batch_id, specs)
        digest = batch_content_hash(specs)

        async def run(c: AsyncConnection) -> BatchRecord:
            return await self._postings.batch(c, batch_id, specs, digest)

        result: BatchRecord = await self._in_tx(conn, run)
        return result

    async def prepare_batch(
        self, batch_id: str, specs: Sequence[TransferSpec], *, conn: AsyncConnection
    ) -> PreparedBatch:
        """``batch``'s checks and ``gp_post``'s arguments, for a caller that posts the batch in
        a PostgreSQL statement of its own on ``conn`` (``gamepay.ledger.prepared``)."""
        if self.store.dialect != "postgresql":
            raise InvalidInput("prepare_batch is for PostgreSQL (gp_post)")
        specs = _batch_specs(batch_id, specs)
        claim = Claim("batch", batch_id, batch_content_hash(specs))
        posting = batch_posting(batch_id, specs)
        changes, rows, now = await self._postings.prepare(conn, posting)
        args = post_args(changes, rows, claim)
        return PreparedBatch(batch_id, tuple(specs), posting, now, args)

    # ---------------------------------------------------------------- holds

    async def hold(
        self, hold_id: str, spec: TransferSpec, *, conn: AsyncConnection | None = None
    ) -> HoldRecord:
        """Reserve ``spec.amount`` on the debit account (available -> held) for a later post/void;
        writes the pending transfer ``hold:<hold id>/pending``.

        Replaying ``hold_id`` with the same spec returns the hold as it is now; with another
        spec raises IdempotencyConflict.
        """
        check_id(hold_id, "hold id")
        if not isinstance(spec, TransferSpec):
            raise InvalidInput("hold takes a TransferSpec")

        async def run(c: AsyncConnection) -> HoldRecord:
            return await self._holds.hold(c, hold_id, spec)

        result: HoldRecord = await self._in_tx(conn, run)
        return result

    async def get_hold(self, hold_id: str, *, conn: AsyncConnection | None = None) -> HoldRecord:
        """The hold with that id as it is now, or HoldNotFound."""

        async def run(c: AsyncConnection) -> HoldRecord:
            row = await self._holds.row(c, hold_id)
            if row is None:
                raise HoldNotFound(f"no hold {hold_id!r}")
            return hold_record(row)

        result: HoldRecord = await self._in_tx(conn, run)
        return result

    async def post(
        self, hold_id: str, amount: int | None = None, *, conn: AsyncConnection | None = None
    ) -> HoldRecord:
        """Post a pending hold: ``amount`` (default all of it) goes to the credit account and the
        rest returns to the debit's available balance; writes a transfer ``hold:<hold id>``.

        Posting an already-posted hold with the same amount (or None when it was posted in full)
        returns it unchanged; any other post of a resolved hold, or above the held amount, raises
        HoldStateError.
        """
        check_id(hold_id, "hold id")
        if amount is not None:
            check_amount(amount)

        async def run(c: AsyncConnection) -> HoldRecord:
            return await self._holds.resolve(c, hold_id, HoldStatus.POSTED, amount)

        result: HoldRecord = await self._in_tx(conn, run)
        return result

    async def void(self, hold_id: str, *, conn: AsyncConnection | None = None) -> HoldRecord:
        """Void a pending hold: all of it returns to the debit's available balance; writes a
        transfer ``hold:<hold id>/void`` of the held amount.

        Voiding a voided hold returns it unchanged; voiding a posted hold raises HoldStateError.
        """
        check_id(hold_id, "hold id")

        async def run(c: AsyncConnection) -> HoldRecord:
            return await self._holds.resolve(c, hold_id, HoldStatus.VOIDED, None)

        result: HoldRecord = await self._in_tx(conn, run)
        return result

    # ---------------------------------------------------------------- reading

    async def balance(
        self, account_id: str, asset_id: str, *, conn: AsyncConnection | None = None
    ) -> Balance:
        """The balance of an account in one asset; zero if never touched.

        AccountNotFound / AssetNotFound when either does not exist.
        """

        async def run(c: AsyncConnection) -> Balance:
            await self._cache.require(c, (account_id,), (asset_id,))
            return await read_balance(c, account_id, asset_id)

        result: Balance = await self._in_read(conn, run)
        return result

    async def balances(
        self, account_id: str, *, conn: AsyncConnection | None = None
    ) -> dict[str, Balance]:
        """Every asset an account has touched, with its balance."""

        async def run(c: AsyncConnection) -> dict[str, Balance]:
            await self._cache.require(c, (account_id,), ())
            return await read_balances(c, account_id)

        result: dict[str, Balance] = await self._in_read(conn, run)
        return result

    async def available_for_update(
        self, account_id: str, asset_id: str, *, conn: AsyncConnection
    ) -> int:
        """The available balance of an account in one asset (0 if never touched), locked whole
        until ``conn``'s transaction ends (on PostgreSQL a player's row, or every slot of a
        system account's balance, ``FOR UPDATE``; SQLite writers are serialized already), for
        a caller that decides how much it may spend."""
        accounts = await self._cache.require(conn, (account_id,), (asset_id,))
        mode = mode_of(accounts[account_id])
        return await self._ops.available_for_update(conn, (account_id, asset_id), mode)

    async def count_transfers(self, *, conn: AsyncConnection | None = None) -> int:
        """How many transfers the log holds (of every phase)."""
        result: int = await self._in_read(conn, count_transfers)
        return result

    async def history(
        self,
        account_id: str,
        *,
        asset_id: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
        conn: AsyncConnection | None = None,
    ) -> HistoryPage:
        """Settled transfers debiting or crediting an account (plain transfers and posted holds),
        newest first, ``limit`` per page.

        ``next_cursor`` is None on the last page; a cursor from another query is InvalidInput.
        """
        if type(limit) is not int or not 0 < limit <= MAX_HISTORY:
            raise InvalidInput(f"limit must be an int in 1..{MAX_HISTORY}")
        before = parse_cursor(cursor)

        async def run(c: AsyncConnection) -> HistoryPage:
            await self._cache.require(c, (account_id,), () if asset_id is None else (asset_id,))
            return await read_history(c, account_id, asset_id, before, limit)

        result: HistoryPage = await self._in_read(conn, run)
        return result

    async def verify(self) -> VerifyReport:
        """Recompute every balance (available and held) and hold status from the transfers alone
        and compare; also checks that every asset sums to zero, that no account that may not go
        negative is below zero, and that no held amount is negative. Read-only."""
        result: VerifyReport = await self.store.read(verify)
        return result

    async def record_verification(
        self, report: VerifyReport, *, started_at: datetime, by: str
    ) -> Verification:
        """Store a ``verify()`` outcome (finished now) as the ledger's last verify result."""
        finished = self._now()

        async def run(conn: AsyncConnection) -> Verification:
            return await record_verification(
                conn, report, started_at=started_at, finished_at=finished, by=by
            )

        result: Verification = await self.store.run(run)
        return result

    async def last_verification(self) -> Verification | None:
        """The newest recorded verify result (any replica's), or None."""
        result: Verification | None = await self.store.read(last_verification)
        return result


def _batch_specs(batch_id: str, specs: Sequence[TransferSpec]) -> list[TransferSpec]:
    """A batch's id checked and its specs as a list: at least one, every one a TransferSpec."""
    check_id(batch_id, "batch id")
    listed = list(specs)
    if not listed:
        raise InvalidInput("a batch needs at least one transfer")
    for spec in listed:
        if not isinstance(spec, TransferSpec):
            raise InvalidInput("a batch takes TransferSpecs")
    return listed
