"""``Ledger``: exact double-entry balances over a ``Store``.

Every write runs in one transaction: its own (through ``store.run``, retried on conflicts) or the
caller's when ``conn=`` is given (then nothing is committed or retried here; the caller's
``store.run`` retries the whole unit). Nothing is written before every check has passed, so a
refused operation leaves the caller's transaction untouched.

Balance rows are locked (``SELECT ... FOR UPDATE`` on PostgreSQL, ordered by account and asset;
SQLite writers are serialized by ``BEGIN IMMEDIATE``), the new balances are computed exactly in
Python and written back. A batch is checked on its net effect per account: it is atomic, so no
intermediate state is ever visible.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert

from gamepay.core.accounts import Account, AccountKind, check_account_id
from gamepay.core.assets import Asset, Currency, Item, Token
from gamepay.core.money import MAX_AMOUNT, check_amount
from gamepay.core.transfers import TransferKind, TransferSpec, batch_content_hash
from gamepay.errors import (
    AccountError,
    AccountMismatch,
    AccountNotFound,
    AmountRangeError,
    AssetNotFound,
    HoldNotFound,
    HoldStateError,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidInput,
)
from gamepay.ledger.ops import LedgerOps, TransferRow, ops_for
from gamepay.ledger.records import (
    Balance,
    BatchRecord,
    HistoryPage,
    HoldRecord,
    HoldStatus,
    TransferRecord,
    VerifyReport,
)
from gamepay.store import Store
from gamepay.store.rows import RowInsert
from gamepay.store.schema.ledger import (
    accounts_table,
    assets_table,
    balances_table,
    batches_table,
    holds_table,
    transfers_table,
)
from gamepay.store.sql import big_sum

__all__ = ["Clock", "Ledger", "hold_transfer_id"]

log = logging.getLogger("gamepay.ledger")

Clock = Callable[[], datetime]
"""Returns the current time as an aware UTC datetime."""

_Key = tuple[str, str]  # (account id, asset id)
_IdLike = str

_A = assets_table.c
_C = accounts_table.c
_B = balances_table.c
_T = transfers_table.c
_H = holds_table.c
_BT = batches_table.c

_MAX_ID = 200
_ACCOUNT_CACHE = 100_000
_MAX_HISTORY = 1000
_LOCK_CHUNK = 400

_TRANSFER_COLUMNS = (
    _T.id,
    _T.debit,
    _T.credit,
    _T.asset,
    _T.amount,
    _T.kind,
    _T.memo,
    _T.created_at,
    _T.batch_id,
    _T.hold_id,
)
_HOLD_COLUMNS = (
    _H.id,
    _H.debit,
    _H.credit,
    _H.asset,
    _H.amount,
    _H.kind,
    _H.memo,
    _H.status,
    _H.created_at,
    _H.posted_amount,
    _H.resolved_at,
)


def hold_transfer_id(hold_id: str) -> str:
    """The id of the transfer a posted hold writes: ``hold:<hold id>``."""
    return f"hold:{hold_id}"


def _check_id(value: object, what: str) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= _MAX_ID or not value.isprintable():
        raise InvalidInput(f"{what} must be a printable string of 1-{_MAX_ID} characters")
    return value


def _account(row: Any) -> Account:
    return Account(
        id=row.id,
        kind=AccountKind(row.kind),
        allow_negative=bool(row.allow_negative),
        created_at=row.created_at,
    )


def _check_same_account(account: Account, kind: AccountKind, allow_negative: bool) -> None:
    if account.kind != kind or account.allow_negative != allow_negative:
        raise AccountMismatch(
            f"account {account.id!r} exists as kind={account.kind}, "
            f"allow_negative={account.allow_negative}"
        )


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _transfer_record(row: Any) -> TransferRecord:
    return TransferRecord(
        id=row.id,
        debit=row.debit,
        credit=row.credit,
        asset=row.asset,
        amount=row.amount,
        kind=TransferKind(row.kind),
        memo=row.memo,
        created_at=row.created_at,
        batch_id=row.batch_id,
        hold_id=row.hold_id,
    )


def _hold_record(row: Any) -> HoldRecord:
    return HoldRecord(
        id=row.id,
        debit=row.debit,
        credit=row.credit,
        asset=row.asset,
        amount=row.amount,
        kind=TransferKind(row.kind),
        memo=row.memo,
        status=HoldStatus(row.status),
        created_at=row.created_at,
        posted_amount=row.posted_amount,
        resolved_at=row.resolved_at,
    )


def _asset_row(asset: Asset) -> dict[str, Any]:
    if isinstance(asset, Token):
        return {
            "id": asset.id,
            "kind": asset.kind,
            "code": asset.symbol,
            "decimals": asset.decimals,
            "chain_id": asset.chain_id,
            "address": asset.address,
        }
    if isinstance(asset, Currency):
        code = asset.code
    elif isinstance(asset, Item):
        code = asset.sku
    else:
        raise InvalidInput(f"not an asset: {type(asset).__name__}")
    return {
        "id": asset.id,
        "kind": asset.kind,
        "code": code,
        "decimals": asset.decimals,
        "chain_id": None,
        "address": None,
    }


def _same_asset(stored: dict[str, Any], wanted: dict[str, Any]) -> bool:
    for name, value in wanted.items():
        have = stored[name]
        if name == "address" and isinstance(have, str) and isinstance(value, str):
            if have.lower() != value.lower():
                return False
        elif have != value:
            return False
    return True


class Ledger:
    """The double-entry ledger over a ``Store`` (call ``store.migrate()`` first).

    ``clock`` returns aware UTC datetimes (default: the system clock).
    """

    def __init__(self, store: Store, clock: Clock | None = None) -> None:
        self.store = store
        self._clock: Clock = clock or _utc_now
        # Accounts and assets are never deleted and never change, so a seen one is cached (the
        # accounts up to _ACCOUNT_CACHE of them, then the cache starts over: memory stays bounded).
        self._accounts: dict[str, Account] = {}
        self._known_assets: set[str] = set()
        insert: Callable[[Table], Insert]
        insert = postgresql.insert if store.dialect == "postgresql" else sqlite.insert
        self._ops: LedgerOps = ops_for(store.dialect)
        self._insert_hold = (
            insert(holds_table).on_conflict_do_nothing(index_elements=[_H.id]).returning(_H.id)
        )
        self._insert_account = RowInsert(
            accounts_table, ("id", "kind", "allow_negative", "created_at"), conflict=("id",)
        )
        self._insert_asset = insert(assets_table).on_conflict_do_nothing(index_elements=[_A.id])

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
        return await self.store.run(fn)

    async def _in_read(
        self, conn: AsyncConnection | None, fn: Callable[[AsyncConnection], Awaitable[Any]]
    ) -> Any:
        if conn is not None:
            return await fn(conn)
        return await self.store.read(fn)

    # ---------------------------------------------------------------- assets and accounts

    async def register_asset(self, asset: Asset) -> Asset:
        """Register an asset (idempotent); a different definition under its id: AccountMismatch."""
        wanted = _asset_row(asset)

        async def run(conn: AsyncConnection) -> None:
            await conn.execute(self._insert_asset, wanted)
            row = (await conn.execute(select(assets_table).where(_A.id == wanted["id"]))).one()
            if not _same_asset(dict(row._mapping), wanted):
                raise AccountMismatch(f"asset {asset.id!r} is registered with another definition")

        await self.store.run(run)
        self._known_assets.add(asset.id)
        return asset

    async def open_account(
        self,
        account_id: str,
        *,
        kind: AccountKind = AccountKind.PLAYER,
        allow_negative: bool = False,
    ) -> Account:
        """Open an account (idempotent with the same properties, else AccountMismatch).

        Only system accounts may be ``allow_negative`` (AccountError otherwise).
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
        cached = self._accounts.get(account_id)
        if cached is not None:
            _check_same_account(cached, kind, allow_negative)
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
            found = _account(row)
            _check_same_account(found, kind, allow_negative)
            return found

        account: Account = await self.store.run(run)
        self._remember(account)
        return account

    def _remember(self, account: Account) -> None:
        if len(self._accounts) >= _ACCOUNT_CACHE:
            self._accounts.clear()
        self._accounts[account.id] = account

    async def get_account(self, account_id: str, *, conn: AsyncConnection | None = None) -> Account:
        """The account with that id, or AccountNotFound."""

        async def run(c: AsyncConnection) -> Account:
            row = (await c.execute(select(accounts_table).where(_C.id == account_id))).first()
            if row is None:
                raise AccountNotFound(f"no account {account_id!r}")
            return _account(row)

        result: Account = await self._in_read(conn, run)
        return result

    async def _require(
        self, conn: AsyncConnection, accounts: Iterable[str], assets: Iterable[str]
    ) -> dict[str, bool]:
        """Check that ``accounts`` and ``assets`` exist; each account's ``allow_negative``."""
        negative: dict[str, bool] = {}
        missing_accounts: set[str] = set()
        for account_id in accounts:
            known = self._accounts.get(account_id)
            if known is None:
                missing_accounts.add(account_id)
            else:
                negative[account_id] = known.allow_negative
        if missing_accounts:
            rows = await conn.execute(select(accounts_table).where(_C.id.in_(missing_accounts)))
            for row in rows:
                found = _account(row)
                negative[found.id] = found.allow_negative
                self._remember(found)
            still = sorted(a for a in missing_accounts if a not in negative)
            if still:
                raise AccountNotFound(f"no account {still[0]!r}")
        missing_assets = {a for a in assets if a not in self._known_assets}
        if missing_assets:
            rows = await conn.execute(select(_A.id).where(_A.id.in_(missing_assets)))
            self._known_assets.update(row.id for row in rows)
            still = sorted(a for a in missing_assets if a not in self._known_assets)
            if still:
                raise AssetNotFound(f"no asset {still[0]!r} is registered")
        return negative

    # ---------------------------------------------------------------- balance locking

    async def _lock(self, conn: AsyncConnection, keys: Iterable[_Key]) -> dict[_Key, list[int]]:
        """Lock (creating when missing) the balance rows of ``keys``; return [available, held]."""
        return await self._ops.lock(conn, sorted(set(keys)))

    @staticmethod
    def _check_funds(
        balances: dict[_Key, list[int]],
        spent: Iterable[_Key],
        touched: Iterable[_Key],
        negative: Mapping[str, bool],
    ) -> None:
        """InsufficientFunds if a ``spent`` account that may not go negative is below zero;
        AmountRangeError if any ``touched`` balance left -(2**256-1)..2**256-1. ``negative``:
        each account's ``allow_negative`` (from ``_require``)."""
        for key in spent:
            account, asset = key
            if balances[key][0] < 0 and not negative[account]:
                raise InsufficientFunds(f"{account!r} cannot cover this {asset} transfer")
        for key in touched:
            available, held = balances[key]
            if abs(available) > MAX_AMOUNT or abs(held) > MAX_AMOUNT:
                raise AmountRangeError(f"the {key[1]} balance of {key[0]!r} would leave 2**256")

    async def _write_balances(
        self, conn: AsyncConnection, balances: dict[_Key, list[int]], keys: Iterable[_Key]
    ) -> None:
        await self._ops.write_balances(
            conn, [(k[0], k[1], balances[k][0], balances[k][1]) for k in keys]
        )

    # ---------------------------------------------------------------- transfers

    async def _get_transfer_row(self, conn: AsyncConnection, transfer_id: str) -> Any:
        result = await conn.execute(select(*_TRANSFER_COLUMNS).where(_T.id == transfer_id))
        return result.first()

    def _replayed_transfer(
        self, row: Any | None, transfer_id: str, spec: TransferSpec
    ) -> TransferRecord:
        if row is None:  # pragma: no cover - the id was taken and then vanished
            raise IdempotencyConflict(f"transfer id {transfer_id!r} is taken")
        record = _transfer_record(row)
        same = (
            record.batch_id is None
            and record.hold_id is None
            and (record.debit, record.credit, record.asset, record.amount, str(record.kind))
            == (spec.debit, spec.credit, spec.asset, spec.amount, str(spec.kind))
            and record.memo == spec.memo
        )
        if not same:
            raise IdempotencyConflict(f"transfer id {transfer_id!r} was used for another transfer")
        return record

    async def transfer(
        self, transfer_id: str, spec: TransferSpec, *, conn: AsyncConnection | None = None
    ) -> TransferRecord:
        """Move ``spec.amount`` of ``spec.asset`` from ``spec.debit`` to ``spec.credit``.

        Replaying ``transfer_id`` with the same spec returns the original record; with another
        spec raises IdempotencyConflict. AccountNotFound, AssetNotFound, InsufficientFunds.
        """
        _check_id(transfer_id, "transfer id")
        if not isinstance(spec, TransferSpec):
            raise InvalidInput("transfer takes a TransferSpec")

        async def run(c: AsyncConnection) -> TransferRecord:
            return await self._transfer(c, transfer_id, spec)

        result: TransferRecord = await self._in_tx(conn, run)
        return result

    async def _transfer(
        self, conn: AsyncConnection, transfer_id: str, spec: TransferSpec
    ) -> TransferRecord:
        negative = await self._require(conn, (spec.debit, spec.credit), (spec.asset,))
        debit_key = (spec.debit, spec.asset)
        credit_key = (spec.credit, spec.asset)
        balances = await self._lock(conn, (debit_key, credit_key))
        balances[debit_key][0] -= spec.amount
        balances[credit_key][0] += spec.amount
        try:
            self._check_funds(balances, (debit_key,), (debit_key, credit_key), negative)
        except (InsufficientFunds, AmountRangeError):
            existing = await self._get_transfer_row(conn, transfer_id)
            if existing is not None:
                return self._replayed_transfer(existing, transfer_id, spec)
            raise
        now = self._now()
        kind = str(spec.kind)
        row = (
            transfer_id,
            None,
            None,
            spec.debit,
            spec.credit,
            spec.asset,
            spec.amount,
            kind,
            spec.memo,
            now,
        )
        if not await self._ops.insert_transfer(conn, row):
            existing = await self._get_transfer_row(conn, transfer_id)
            return self._replayed_transfer(existing, transfer_id, spec)
        await self._write_balances(conn, balances, (debit_key, credit_key))
        return TransferRecord(
            id=transfer_id,
            debit=spec.debit,
            credit=spec.credit,
            asset=spec.asset,
            amount=spec.amount,
            kind=TransferKind(spec.kind),
            memo=spec.memo,
            created_at=now,
        )

    async def get_transfer(
        self, transfer_id: str, *, conn: AsyncConnection | None = None
    ) -> TransferRecord | None:
        """The stored transfer with that id, or None."""

        async def run(c: AsyncConnection) -> TransferRecord | None:
            row = await self._get_transfer_row(c, transfer_id)
            return None if row is None else _transfer_record(row)

        result: TransferRecord | None = await self._in_read(conn, run)
        return result

    # ---------------------------------------------------------------- batches

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
        _check_id(batch_id, "batch id")
        specs = list(specs)
        if not specs:
            raise InvalidInput("a batch needs at least one transfer")
        for spec in specs:
            if not isinstance(spec, TransferSpec):
                raise InvalidInput("a batch takes TransferSpecs")
        digest = batch_content_hash(specs)

        async def run(c: AsyncConnection) -> BatchRecord:
            return await self._batch(c, batch_id, specs, digest)

        result: BatchRecord = await self._in_tx(conn, run)
        return result

    async def _replayed_batch(
        self, conn: AsyncConnection, batch_id: str, digest: str
    ) -> BatchRecord | None:
        row = (
            await conn.execute(select(_BT.content_hash, _BT.created_at).where(_BT.id == batch_id))
        ).first()
        if row is None:
            return None
        if row.content_hash != digest:
            raise IdempotencyConflict(f"batch id {batch_id!r} was used for other transfers")
        rows = await conn.execute(
            select(*_TRANSFER_COLUMNS).where(_T.batch_id == batch_id).order_by(_T.seq)
        )
        return BatchRecord(
            id=batch_id,
            transfers=tuple(_transfer_record(r) for r in rows),
            created_at=row.created_at,
        )

    async def _batch(
        self, conn: AsyncConnection, batch_id: str, specs: list[TransferSpec], digest: str
    ) -> BatchRecord:
        accounts: set[str] = set()
        assets: set[str] = set()
        deltas: dict[_Key, int] = defaultdict(int)
        for spec in specs:
            accounts.add(spec.debit)
            accounts.add(spec.credit)
            assets.add(spec.asset)
            deltas[(spec.debit, spec.asset)] -= spec.amount
            deltas[(spec.credit, spec.asset)] += spec.amount
        negative = await self._require(conn, accounts, assets)
        balances = await self._lock(conn, deltas)
        for key, delta in deltas.items():
            balances[key][0] += delta
        try:
            spent = (k for k, d in deltas.items() if d < 0)
            self._check_funds(balances, spent, deltas, negative)
        except (InsufficientFunds, AmountRangeError):
            replay = await self._replayed_batch(conn, batch_id, digest)
            if replay is not None:
                return replay
            raise
        now = self._now()
        if not await self._ops.insert_batch(conn, batch_id, digest, now):
            replay = await self._replayed_batch(conn, batch_id, digest)
            assert replay is not None
            return replay
        rows: list[TransferRow] = [
            (
                f"{batch_id}/{i}",
                batch_id,
                None,
                s.debit,
                s.credit,
                s.asset,
                s.amount,
                str(s.kind),
                s.memo,
                now,
            )
            for i, s in enumerate(specs)
        ]
        await self._ops.insert_transfers(conn, rows)
        records = tuple(
            TransferRecord(
                row[0],
                s.debit,
                s.credit,
                s.asset,
                s.amount,
                cast(TransferKind, s.kind),
                s.memo,
                now,
                batch_id,
            )
            for row, s in zip(rows, specs, strict=True)
        )
        changed = [k for k, d in deltas.items() if d != 0]
        await self._write_balances(conn, balances, changed)
        after = {k: Balance(balances[k][0], balances[k][1]) for k in changed}
        return BatchRecord(id=batch_id, transfers=records, created_at=now, balances=after)

    # ---------------------------------------------------------------- holds

    async def _get_hold_row(
        self, conn: AsyncConnection, hold_id: str, *, lock: bool = False
    ) -> Any:
        query = select(*_HOLD_COLUMNS).where(_H.id == hold_id)
        if lock:
            query = query.with_for_update()
        return (await conn.execute(query)).first()

    def _replayed_hold(self, row: Any | None, hold_id: str, spec: TransferSpec) -> HoldRecord:
        if row is None:  # pragma: no cover - the id was taken and then vanished
            raise IdempotencyConflict(f"hold id {hold_id!r} is taken")
        record = _hold_record(row)
        same = (record.debit, record.credit, record.asset, record.amount, str(record.kind)) == (
            spec.debit,
            spec.credit,
            spec.asset,
            spec.amount,
            str(spec.kind),
        ) and record.memo == spec.memo
        if not same:
            raise IdempotencyConflict(f"hold id {hold_id!r} was used for another hold")
        return record

    async def hold(
        self, hold_id: str, spec: TransferSpec, *, conn: AsyncConnection | None = None
    ) -> HoldRecord:
        """Reserve ``spec.amount`` on the debit account (available -> held) for a later post/void.

        Replaying ``hold_id`` with the same spec returns the hold as it is now; with another
        spec raises IdempotencyConflict.
        """
        _check_id(hold_id, "hold id")
        if not isinstance(spec, TransferSpec):
            raise InvalidInput("hold takes a TransferSpec")

        async def run(c: AsyncConnection) -> HoldRecord:
            return await self._hold(c, hold_id, spec)

        result: HoldRecord = await self._in_tx(conn, run)
        return result

    async def _hold(self, conn: AsyncConnection, hold_id: str, spec: TransferSpec) -> HoldRecord:
        negative = await self._require(conn, (spec.debit, spec.credit), (spec.asset,))
        key = (spec.debit, spec.asset)
        balances = await self._lock(conn, (key,))
        balances[key][0] -= spec.amount
        balances[key][1] += spec.amount
        try:
            self._check_funds(balances, (key,), (key,), negative)
        except (InsufficientFunds, AmountRangeError):
            existing = await self._get_hold_row(conn, hold_id)
            if existing is not None:
                return self._replayed_hold(existing, hold_id, spec)
            raise
        now = self._now()
        inserted = (
            await conn.execute(
                self._insert_hold,
                {
                    "id": hold_id,
                    "debit": spec.debit,
                    "credit": spec.credit,
                    "asset": spec.asset,
                    "amount": spec.amount,
                    "posted_amount": None,
                    "status": str(HoldStatus.PENDING),
                    "kind": str(spec.kind),
                    "memo": spec.memo,
                    "created_at": now,
                    "resolved_at": None,
                },
            )
        ).first()
        if inserted is None:
            return self._replayed_hold(await self._get_hold_row(conn, hold_id), hold_id, spec)
        await self._write_balances(conn, balances, (key,))
        return HoldRecord(
            id=hold_id,
            debit=spec.debit,
            credit=spec.credit,
            asset=spec.asset,
            amount=spec.amount,
            kind=TransferKind(spec.kind),
            memo=spec.memo,
            status=HoldStatus.PENDING,
            created_at=now,
        )

    async def get_hold(self, hold_id: str, *, conn: AsyncConnection | None = None) -> HoldRecord:
        """The hold with that id as it is now, or HoldNotFound."""

        async def run(c: AsyncConnection) -> HoldRecord:
            row = await self._get_hold_row(c, hold_id)
            if row is None:
                raise HoldNotFound(f"no hold {hold_id!r}")
            return _hold_record(row)

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
        _check_id(hold_id, "hold id")
        if amount is not None:
            check_amount(amount)

        async def run(c: AsyncConnection) -> HoldRecord:
            return await self._resolve(c, hold_id, HoldStatus.POSTED, amount)

        result: HoldRecord = await self._in_tx(conn, run)
        return result

    async def void(self, hold_id: str, *, conn: AsyncConnection | None = None) -> HoldRecord:
        """Void a pending hold: all of it returns to the debit's available balance.

        Voiding a voided hold returns it unchanged; voiding a posted hold raises HoldStateError.
        """
        _check_id(hold_id, "hold id")

        async def run(c: AsyncConnection) -> HoldRecord:
            return await self._resolve(c, hold_id, HoldStatus.VOIDED, None)

        result: HoldRecord = await self._in_tx(conn, run)
        return result

    async def _resolve(
        self, conn: AsyncConnection, hold_id: str, to: HoldStatus, amount: int | None
    ) -> HoldRecord:
        row = await self._get_hold_row(conn, hold_id, lock=True)
        if row is None:
            raise HoldNotFound(f"no hold {hold_id!r}")
        hold = _hold_record(row)
        if hold.status is not HoldStatus.PENDING:
            if hold.status is to and (
                to is HoldStatus.VOIDED or (amount or hold.amount) == hold.posted_amount
            ):
                return hold
            raise HoldStateError(f"hold {hold_id!r} is already {hold.status}")
        posted = 0
        if to is HoldStatus.POSTED:
            posted = hold.amount if amount is None else amount
            if posted > hold.amount:
                raise HoldStateError(f"cannot post {posted} of hold {hold_id!r} for {hold.amount}")
        negative = await self._require(conn, (hold.debit, hold.credit), (hold.asset,))
        debit_key = (hold.debit, hold.asset)
        credit_key = (hold.credit, hold.asset)
        keys = (debit_key, credit_key) if posted else (debit_key,)
        balances = await self._lock(conn, keys)
        balances[debit_key][1] -= hold.amount
        balances[debit_key][0] += hold.amount - posted
        if posted:
            balances[credit_key][0] += posted
        self._check_funds(balances, (), keys, negative)
        now = self._now()
        if posted:
            row = (
                hold_transfer_id(hold_id),
                None,
                hold_id,
                hold.debit,
                hold.credit,
                hold.asset,
                posted,
                str(hold.kind),
                hold.memo,
                now,
            )
            if not await self._ops.insert_transfer(conn, row):
                raise IdempotencyConflict(
                    f"transfer id {hold_transfer_id(hold_id)!r} is already taken"
                )
        await conn.execute(
            update(holds_table)
            .where(_H.id == hold_id)
            .values(status=str(to), posted_amount=posted if posted else None, resolved_at=now)
        )
        await self._write_balances(conn, balances, keys)
        return HoldRecord(
            id=hold.id,
            debit=hold.debit,
            credit=hold.credit,
            asset=hold.asset,
            amount=hold.amount,
            kind=hold.kind,
            memo=hold.memo,
            status=to,
            created_at=hold.created_at,
            posted_amount=posted if posted else None,
            resolved_at=now,
        )

    # ---------------------------------------------------------------- reading

    async def balance(
        self, account_id: str, asset_id: str, *, conn: AsyncConnection | None = None
    ) -> Balance:
        """The balance of an account in one asset; zero if never touched.

        AccountNotFound / AssetNotFound when either does not exist.
        """

        async def run(c: AsyncConnection) -> Balance:
            await self._require(c, (account_id,), (asset_id,))
            row = (
                await c.execute(
                    select(_B.available, _B.held).where(
                        _B.account_id == account_id, _B.asset == asset_id
                    )
                )
            ).first()
            return Balance() if row is None else Balance(row.available, row.held)

        result: Balance = await self._in_read(conn, run)
        return result

    async def balances(
        self, account_id: str, *, conn: AsyncConnection | None = None
    ) -> dict[str, Balance]:
        """Every asset an account has touched, with its balance."""

        async def run(c: AsyncConnection) -> dict[str, Balance]:
            await self._require(c, (account_id,), ())
            rows = await c.execute(
                select(_B.asset, _B.available, _B.held)
                .where(_B.account_id == account_id)
                .order_by(_B.asset)
            )
            return {row.asset: Balance(row.available, row.held) for row in rows}

        result: dict[str, Balance] = await self._in_read(conn, run)
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
        """Transfers debiting or crediting an account, newest first, ``limit`` per page.

        ``next_cursor`` is None on the last page; a cursor from another query is InvalidInput.
        """
        if type(limit) is not int or not 0 < limit <= _MAX_HISTORY:
            raise InvalidInput(f"limit must be an int in 1..{_MAX_HISTORY}")
        before: int | None = None
        if cursor is not None:
            digits = cursor[1:] if isinstance(cursor, str) and cursor.startswith("s") else ""
            if not digits.isascii() or not digits.isdigit():
                raise InvalidInput("not a history cursor")
            before = int(digits)

        async def run(c: AsyncConnection) -> HistoryPage:
            await self._require(c, (account_id,), () if asset_id is None else (asset_id,))
            query = select(_T.seq, *_TRANSFER_COLUMNS).where(
                or_(_T.debit == account_id, _T.credit == account_id)
            )
            if asset_id is not None:
                query = query.where(_T.asset == asset_id)
            if before is not None:
                query = query.where(_T.seq < before)
            rows = list(await c.execute(query.order_by(_T.seq.desc()).limit(limit + 1)))
            more = len(rows) > limit
            rows = rows[:limit]
            next_cursor = f"s{rows[-1].seq}" if more else None
            return HistoryPage(tuple(_transfer_record(r) for r in rows), next_cursor)

        result: HistoryPage = await self._in_read(conn, run)
        return result

    async def verify(self) -> VerifyReport:
        """Recompute every balance from the transfers and pending holds and compare.

        Also checks that every asset sums to zero, that no account that may not go negative is
        below zero, and that no held amount is negative. Read-only.
        """

        async def run(c: AsyncConnection) -> VerifyReport:
            expected: dict[_Key, list[int]] = defaultdict(lambda: [0, 0])
            debits = await c.execute(
                select(_T.debit, _T.asset, big_sum(_T.amount)).group_by(_T.debit, _T.asset)
            )
            for account, asset, total in debits:
                expected[(account, asset)][0] -= total
            credits = await c.execute(
                select(_T.credit, _T.asset, big_sum(_T.amount)).group_by(_T.credit, _T.asset)
            )
            for account, asset, total in credits:
                expected[(account, asset)][0] += total
            pending = await c.execute(
                select(_H.debit, _H.asset, big_sum(_H.amount))
                .where(_H.status == str(HoldStatus.PENDING))
                .group_by(_H.debit, _H.asset)
            )
            for account, asset, total in pending:
                expected[(account, asset)][0] -= total
                expected[(account, asset)][1] += total
            transfers = (await c.execute(select(func.count()).select_from(transfers_table))).one()
            allow = {
                row.id: bool(row.allow_negative)
                for row in await c.execute(select(_C.id, _C.allow_negative))
            }
            stored = {
                (row.account_id, row.asset): (row.available, row.held)
                for row in await c.execute(select(_B.account_id, _B.asset, _B.available, _B.held))
            }
            problems: list[str] = []
            sums: dict[str, int] = defaultdict(int)
            for key in sorted(set(stored) | set(expected)):
                have = stored.get(key, (0, 0))
                want = tuple(expected.get(key, (0, 0)))
                account, asset = key
                if have != want:
                    problems.append(
                        f"{account} {asset}: stored available/held {have[0]}/{have[1]}, "
                        f"transfers say {want[0]}/{want[1]}"
                    )
                if have[0] < 0 and not allow.get(account, False):
                    problems.append(f"{account} {asset}: available {have[0]} is below zero")
                if have[1] < 0:
                    problems.append(f"{account} {asset}: held {have[1]} is below zero")
                sums[asset] += have[0] + have[1]
            for asset, total in sorted(sums.items()):
                if total != 0:
                    problems.append(f"{asset}: balances sum to {total}, not zero")
            if problems:
                log.error("ledger verify found %d problems", len(problems))
            return VerifyReport(
                problems=tuple(problems),
                balances_checked=len(stored),
                transfers_checked=int(transfers[0]),
            )

        result: VerifyReport = await self.store.read(run)
        return result
