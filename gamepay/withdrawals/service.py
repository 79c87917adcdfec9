"""Withdrawals: hold the player's tokens, send them once through asset_pro, post or void the hold.

```python
withdrawals = Withdrawals(store, ledger, client, config=WithdrawalsConfig(tokens={t.id: t}))
w = await withdrawals.withdraw("alice", t.id, 5_000_000, "0xd8dA...", request_id="req-1")
```

The lifecycle is ``gamepay.core.withdrawals`` (a transition table); every move goes through one
function (``_transition``) that locks the row, applies the table, posts or voids the ledger hold
and writes the events in ONE transaction. The guarantees:

- **Idempotent requests.** ``(player_id, request_id)`` is unique: the same request returns the
  same withdrawal (a different asset, amount or address under it is ``WithdrawalConflict``).
- **Nothing half-applied.** The row, the hold and the daily-limit accounting are written in one
  transaction (status ``held``); a refusal (address, minimum, limit, funds) changes nothing.
- **At most one transfer call.** ``sending`` is committed before ``client.transfer`` is called,
  and only the caller that moved the row from ``held`` to ``sending`` calls it, exactly once,
  with the withdrawal's stable ``reference`` as the ``note``. Nothing ever moves a withdrawal
  back to ``held`` or ``sending``.
- **Funds never vanish.** Success posts the hold (``sent``); a definite refusal voids it
  (``failed``: the funds are back); an unknown outcome (``OutcomeUnknownError``, any unexpected
  error, or a crash while ``sending``) keeps the hold and leaves the withdrawal ``unknown`` until
  ``resolve`` (an operator) or ``reconcile_unknown`` says what happened.
- **Daily limit, race-safe.** Per (player, asset, day in the configured zone) a total row is
  locked (``FOR UPDATE`` on PostgreSQL; SQLite writers are serialized) while the limit is
  checked, so concurrent withdrawals cannot both squeeze under it; a failed withdrawal gives its
  amount back.

Recovery (``recover()``, at start-up): ``sending`` rows become ``unknown`` (the call may have
happened). ``held`` rows never reached ``sending``, so the API was never called; they are
*voided* (``failed``, funds returned) rather than sent: the player may have been told the
request failed when the process died, the request may be arbitrarily old, and voiding needs no
network call so recovery itself can never create a new unknown outcome. The player can simply
withdraw again with a new request id.

Reconciliation: KryptoGO documents no endpoint to look a transfer up, so
``reconcile_unknown(executed)`` takes the executed transfers from elsewhere (an operator's export
of the Studio's transfer history, or the sandbox's record in tests), matched on the ``note``.
"""

from __future__ import annotations

import builtins
import inspect
import logging
import re
import uuid
import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert

from gamepay.bus.outbox import EventDraft, publish_quietly, record_events
from gamepay.core.accounts import AccountKind, player_account, world_account
from gamepay.core.addresses import chain_family, normalize_address
from gamepay.core.assets import Token
from gamepay.core.events import Event, EventPublisher, EventType
from gamepay.core.money import check_amount, parse_amount
from gamepay.core.transfers import TransferKind, TransferSpec
from gamepay.core.withdrawals import (
    HoldEffect,
    WithdrawalStatus,
    check_transition,
    hold_id_for,
    limit_day,
)
from gamepay.errors import (
    APIError,
    AssetError,
    BelowMinimum,
    ConcurrencyError,
    ConfigError,
    IllegalTransition,
    InvalidInput,
    LimitExceeded,
    OutcomeUnknownError,
    TransportError,
    WithdrawalConflict,
    WithdrawalNotFound,
)
from gamepay.kryptogo.transfers import TransferRequest, TransferResult
from gamepay.ledger import Ledger
from gamepay.store import Store
from gamepay.store.schema.withdrawals import withdrawal_days_table, withdrawals_table

__all__ = [
    "ExecutedTransfer",
    "ExecutedTransferLike",
    "TransferClient",
    "Withdrawal",
    "WithdrawalReconcileReport",
    "WithdrawalRecoveryReport",
    "Withdrawals",
    "WithdrawalsConfig",
]

log = logging.getLogger("gamepay.withdrawals.service")

_W = withdrawals_table.c
_D = withdrawal_days_table.c
_S = WithdrawalStatus
_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,200}")
_MAX_ERROR = 500
_PREPARED: weakref.WeakKeyDictionary[Ledger, set[str]] = weakref.WeakKeyDictionary()
"""Per ledger, the token ids whose asset and world account are known to exist."""


class TransferClient(Protocol):
    """What the service needs of ``KryptoGOClient``: one asset_pro transfer call."""

    async def transfer(self, request: TransferRequest) -> TransferResult:
        """Send tokens; raise OutcomeUnknownError when it may or may not have happened."""
        ...


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return f"wd_{uuid.uuid4().hex}"


@dataclass(frozen=True, slots=True)
class WithdrawalsConfig:
    """Which tokens can be withdrawn, their minimums and per-player daily limits.

    ``tokens`` maps asset id to ``Token`` (each key must be that token's ``id`` and its chain
    must have address rules). ``min_amount`` and ``daily_limit`` map asset id to base units; a
    token without a minimum accepts any positive amount, one without a daily limit has none.
    ``time_zone`` (an IANA name) decides where a day starts for the daily limit.
    """

    tokens: Mapping[str, Token]
    min_amount: Mapping[str, int] = field(default_factory=dict)
    daily_limit: Mapping[str, int] = field(default_factory=dict)
    time_zone: str = "UTC"

    def __post_init__(self) -> None:
        tokens = dict(self.tokens)
        for key, token in tokens.items():
            if not isinstance(token, Token):
                raise ConfigError(f"withdrawable assets must be on-chain Tokens: {key!r}")
            if key != token.id:
                raise ConfigError(f"token key {key!r} is not the token's id {token.id!r}")
            try:
                chain_family(token.chain_id)
            except InvalidInput as exc:
                raise ConfigError(f"{key}: {exc.message}") from None
        for name in ("min_amount", "daily_limit"):
            table = dict(getattr(self, name))
            for key, value in table.items():
                if key not in tokens:
                    raise ConfigError(f"{name} names an asset that is not a token: {key!r}")
                if type(value) is not int or value <= 0:
                    raise ConfigError(f"{name}[{key!r}] must be a positive int of base units")
            object.__setattr__(self, name, MappingProxyType(table))
        object.__setattr__(self, "tokens", MappingProxyType(tokens))
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise ConfigError(f"unknown time zone {self.time_zone!r}") from None

    @property
    def zone(self) -> ZoneInfo:
        """The time zone in which daily limits reset."""
        return ZoneInfo(self.time_zone)


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """One withdrawal as stored. ``reference`` is the stable note sent with the transfer."""

    id: str
    reference: str
    player_id: str
    request_id: str
    asset_id: str
    chain_id: str
    token_address: str
    decimals: int
    amount: int
    address: str
    status: WithdrawalStatus
    limit_day: date
    created_at: datetime
    updated_at: datetime
    transfer_id: str | None = None
    tx_hash: str | None = None
    error: str | None = None

    @property
    def hold_id(self) -> str:
        """The ledger hold backing this withdrawal."""
        return hold_id_for(self.id)


class ExecutedTransferLike(Protocol):
    """One transfer the service executed, as reconciliation reads it (matched on ``note``)."""

    @property
    def note(self) -> str | None:
        """The note sent with the transfer (our withdrawal's ``reference``)."""
        ...

    @property
    def transfer_id(self) -> str | None:
        """The service's id of the transfer."""
        ...

    @property
    def tx_hash(self) -> str | None:
        """The on-chain transaction hash, if known."""
        ...


@dataclass(frozen=True, slots=True)
class ExecutedTransfer:
    """A plain executed-transfer record (e.g. one line of an operator's export).

    ``amount`` (base units, or a decimal string of whole tokens as exports show it) and
    ``wallet_address``, when given, are checked against the withdrawal before it is settled.
    """

    note: str
    transfer_id: str | None = None
    tx_hash: str | None = None
    amount: int | str | None = None
    wallet_address: str | None = None


ExecutedSource = (
    Iterable[ExecutedTransferLike]
    | Callable[[], Iterable[ExecutedTransferLike] | Awaitable[Iterable[ExecutedTransferLike]]]
)


@dataclass(frozen=True, slots=True)
class WithdrawalRecoveryReport:
    """What ``recover()`` did: ``sending`` rows made ``unknown``, ``held`` rows voided."""

    unknown: tuple[Withdrawal, ...] = ()
    failed: tuple[Withdrawal, ...] = ()


@dataclass(frozen=True, slots=True)
class WithdrawalReconcileReport:
    """What ``reconcile_unknown()`` did with each ``unknown`` withdrawal."""

    sent: tuple[Withdrawal, ...] = ()
    failed: tuple[Withdrawal, ...] = ()
    still_unknown: tuple[Withdrawal, ...] = ()
    mismatched: tuple[Withdrawal, ...] = ()
    """Left ``unknown``: a record carries the note but another amount or address."""


def _from_row(row: Any) -> Withdrawal:
    return Withdrawal(
        id=row.id,
        reference=row.reference,
        player_id=row.player_id,
        request_id=row.request_id,
        asset_id=row.asset_id,
        chain_id=row.chain_id,
        token_address=row.token_address,
        decimals=row.decimals,
        amount=row.amount,
        address=row.address,
        status=WithdrawalStatus(row.status),
        limit_day=date.fromisoformat(row.limit_day),
        created_at=row.created_at,
        updated_at=row.updated_at,
        transfer_id=row.transfer_id,
        tx_hash=row.tx_hash,
        error=row.error,
    )


def _record_matches(record: object, w: Withdrawal) -> bool:
    """False when an executed record names another amount or wallet than the withdrawal."""
    amount = getattr(record, "amount", None)
    if amount is not None:
        try:
            units = parse_amount(amount, w.decimals) if isinstance(amount, str) else amount
        except InvalidInput:
            return False
        if units != w.amount:
            return False
    wallet = getattr(record, "wallet_address", None)
    if wallet is not None:
        try:
            return bool(normalize_address(w.chain_id, wallet) == w.address)
        except InvalidInput:
            return False
    return True


def _short(text: str) -> str:
    return text if len(text) <= _MAX_ERROR else text[: _MAX_ERROR - 3] + "..."


def _status_draft(w: Withdrawal) -> EventDraft:
    return EventDraft(
        w.player_id,
        EventType.WITHDRAWAL_STATUS_CHANGED,
        {
            "withdrawal_id": w.id,
            "request_id": w.request_id,
            "status": str(w.status),
            "asset_id": w.asset_id,
            "amount": str(w.amount),
            "decimals": w.decimals,
            "chain_id": w.chain_id,
            "address": w.address,
            "transfer_id": w.transfer_id,
            "tx_hash": w.tx_hash,
            "error": w.error,
        },
    )


class Withdrawals:
    """The withdrawal service over a store, a ledger and a KryptoGO client (see module doc).

    ``clock`` returns aware UTC datetimes; ``publisher`` receives committed events;
    ``new_id`` makes withdrawal ids (default ``wd_<uuid4 hex>``). ``checkpoint`` is called with
    the name of each step between persisted steps (``"held"``: the hold is committed;
    ``"sending"``: sending is committed, the call not made; ``"called"``: the call returned,
    its outcome not yet recorded); crash-injection tests raise from it to die there.
    """

    def __init__(
        self,
        store: Store,
        ledger: Ledger,
        client: TransferClient,
        *,
        config: WithdrawalsConfig,
        clock: Callable[[], datetime] | None = None,
        publisher: EventPublisher | None = None,
        new_id: Callable[[], str] | None = None,
        checkpoint: Callable[[str], None] | None = None,
    ) -> None:
        if not isinstance(config, WithdrawalsConfig):
            raise ConfigError("config must be a WithdrawalsConfig")
        self._store = store
        self._ledger = ledger
        self._client = client
        self._config = config
        self._zone = config.zone
        self._clock = clock or _utc_now
        self._publisher = publisher
        self._new_id = new_id or _new_id
        self._checkpoint = checkpoint or (lambda step: None)
        self._prepared = False
        insert: Callable[[Table], Insert]
        insert = postgresql.insert if store.dialect == "postgresql" else sqlite.insert
        self._insert_withdrawal = (
            insert(withdrawals_table)
            .on_conflict_do_nothing(index_elements=[_W.player_id, _W.request_id])
            .returning(_W.id)
        )
        self._insert_day = insert(withdrawal_days_table).on_conflict_do_nothing(
            index_elements=[_D.player_id, _D.asset_id, _D.day]
        )

    @property
    def config(self) -> WithdrawalsConfig:
        """The configuration in force."""
        return self._config

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ConfigError("the withdrawals clock must return timezone-aware datetimes")
        return now.astimezone(UTC)

    async def prepare(self) -> None:
        """Register the configured tokens and open ``world:<chain>`` accounts (idempotent).

        Called by the first ``withdraw``; done once per ledger object and token.
        """
        done = _PREPARED.setdefault(self._ledger, set())
        for token in self._config.tokens.values():
            if token.id in done:
                continue
            await self._ledger.register_asset(token)
            await self._ledger.open_account(
                world_account(token.chain_id), kind=AccountKind.SYSTEM, allow_negative=True
            )
            done.add(token.id)
        self._prepared = True

    # ------------------------------------------------------------------------- withdraw

    def _check_request(
        self,
        player_id: object,
        asset_id: object,
        amount: object,
        address: object,
        request_id: object,
    ) -> tuple[Token, str]:
        check_amount(amount)
        if not isinstance(player_id, str):
            raise InvalidInput("player_id must be a string")
        player_account(player_id)
        if not isinstance(request_id, str) or _REQUEST_ID.fullmatch(request_id) is None:
            raise InvalidInput("request_id must be 1-200 printable ASCII characters, no spaces")
        token = self._config.tokens.get(asset_id) if isinstance(asset_id, str) else None
        if token is None:
            raise AssetError(f"not a withdrawable on-chain token: {str(asset_id)[:80]!r}")
        normalized = normalize_address(token.chain_id, address)
        minimum = self._config.min_amount.get(token.id)
        assert isinstance(amount, int)
        if minimum is not None and amount < minimum:
            raise BelowMinimum(f"withdrawals of {token.symbol} start at {minimum} base units")
        return token, normalized

    async def withdraw(
        self, player_id: str, asset_id: str, amount: int, address: str, *, request_id: str
    ) -> Withdrawal:
        """Withdraw ``amount`` base units of a token to ``address``; returns the final state.

        Raises a typed error and changes nothing when the input is refused: AmountError,
        AssetError, AddressError, BelowMinimum, LimitExceeded, InsufficientFunds,
        AccountNotFound (no such player), WithdrawalConflict (the request id was used for
        another withdrawal). Otherwise the result is ``sent``, ``failed`` (the API refused; the
        funds are back) or ``unknown`` (the hold is kept until reconciliation). Replaying
        ``request_id`` returns the stored withdrawal as it is, without acting on it again.
        """
        token, normalized = self._check_request(player_id, asset_id, amount, address, request_id)
        if not self._prepared:
            await self.prepare()
        now = self._now()
        day = limit_day(now, self._zone)
        wid = self._new_id()
        reference = f"gamepay/withdrawal/{wid}"
        row: dict[str, Any] = {
            "id": wid,
            "reference": reference,
            "player_id": player_id,
            "request_id": request_id,
            "asset_id": token.id,
            "chain_id": token.chain_id,
            "token_address": token.address,
            "decimals": token.decimals,
            "amount": amount,
            "address": normalized,
            "status": str(_S.HELD),
            "transfer_id": None,
            "tx_hash": None,
            "error": None,
            "limit_day": day.isoformat(),
            "created_at": now,
            "updated_at": now,
        }
        # Built before anything is written: a request the client refuses never holds funds.
        transfer = TransferRequest(
            chain_id=token.chain_id,
            token_address=token.address,
            amount=amount,
            decimals=token.decimals,
            wallet_address=normalized,
            note=reference,
        )

        async def create(conn: AsyncConnection) -> tuple[Withdrawal, list[Event], bool]:
            existing = await self._by_request(conn, player_id, request_id)
            inserted = existing is None and (
                (await conn.execute(self._insert_withdrawal, row)).first() is not None
            )
            if existing is None and not inserted:
                # a concurrent request with the same id committed first (READ COMMITTED sees it)
                existing = await self._by_request(conn, player_id, request_id)
                if existing is None:
                    raise ConcurrencyError("a conflicting withdrawal insert left no row; retry")
            if existing is not None:
                if (existing.asset_id, existing.amount, existing.address) != (
                    token.id,
                    amount,
                    normalized,
                ):
                    raise WithdrawalConflict(
                        f"request id {request_id!r} was used for another withdrawal"
                    )
                return existing, [], False
            await self._take_limit(conn, player_id, token, day, amount)
            account = player_account(player_id)
            spec = TransferSpec(
                account,
                world_account(token.chain_id),
                token.id,
                amount,
                kind=TransferKind.WITHDRAWAL,
                memo=reference,
            )
            await self._ledger.hold(hold_id_for(wid), spec, conn=conn)
            created = _from_row(_Row(row))
            events = await record_events(
                conn,
                [_status_draft(created), await self._balance_draft(conn, created, -amount)],
                now,
            )
            return created, events, True

        withdrawal, events, is_new = await self._store.run(create)
        await publish_quietly(self._publisher, events)
        if not is_new:
            return withdrawal
        log.info("withdrawal %s held: %s %s to %s", wid, amount, token.symbol, normalized)
        return await self._send(withdrawal, transfer)

    async def _by_request(
        self, conn: AsyncConnection, player_id: str, request_id: str
    ) -> Withdrawal | None:
        found = (
            await conn.execute(
                select(withdrawals_table).where(
                    _W.player_id == player_id, _W.request_id == request_id
                )
            )
        ).first()
        return None if found is None else _from_row(found)

    async def _take_limit(
        self, conn: AsyncConnection, player_id: str, token: Token, day: date, amount: int
    ) -> None:
        """Add ``amount`` to the day's total under a row lock; LimitExceeded above the limit."""
        key = {"player_id": player_id, "asset_id": token.id, "day": day.isoformat()}
        await conn.execute(self._insert_day, {**key, "total": 0})
        total = await self._locked_day_total(conn, key)
        limit = self._config.daily_limit.get(token.id)
        if limit is not None and total + amount > limit:
            raise LimitExceeded(
                f"the daily limit of {limit} base units of {token.symbol} would be exceeded "
                f"({total} already withdrawn on {day.isoformat()})"
            )
        await self._write_day_total(conn, key, total + amount)

    async def _release_limit(self, conn: AsyncConnection, w: Withdrawal) -> None:
        """Give a failed withdrawal's amount back to its day's total."""
        key = {"player_id": w.player_id, "asset_id": w.asset_id, "day": w.limit_day.isoformat()}
        total = await self._locked_day_total(conn, key)
        await self._write_day_total(conn, key, max(0, total - w.amount))

    async def _locked_day_total(self, conn: AsyncConnection, key: dict[str, str]) -> int:
        found = (
            await conn.execute(
                select(_D.total)
                .where(_D.player_id == key["player_id"], _D.asset_id == key["asset_id"])
                .where(_D.day == key["day"])
                .with_for_update()
            )
        ).first()
        return 0 if found is None else int(found.total)

    async def _write_day_total(
        self, conn: AsyncConnection, key: dict[str, str], total: int
    ) -> None:
        await conn.execute(
            update(withdrawal_days_table)
            .where(_D.player_id == key["player_id"], _D.asset_id == key["asset_id"])
            .where(_D.day == key["day"])
            .values(total=total)
        )

    async def _balance_draft(self, conn: AsyncConnection, w: Withdrawal, delta: int) -> EventDraft:
        """balance_changed for the player; ``delta`` is the change of the available balance."""
        balance = await self._ledger.balance(player_account(w.player_id), w.asset_id, conn=conn)
        return EventDraft(
            w.player_id,
            EventType.BALANCE_CHANGED,
            {
                "withdrawal_id": w.id,
                "asset_id": w.asset_id,
                "delta": str(delta),
                "available": str(balance.available),
                "held": str(balance.held),
                "decimals": w.decimals,
            },
        )

    # ------------------------------------------------------------------------- sending

    async def _send(self, withdrawal: Withdrawal, transfer: TransferRequest) -> Withdrawal:
        """Move held -> sending (committed), then call transfer once and record its outcome."""
        self._checkpoint("held")
        sending, moved = await self._transition(withdrawal.id, {_S.HELD}, _S.SENDING)
        if not moved:
            return sending  # someone else (recovery) got there first: never call twice
        self._checkpoint("sending")
        try:
            result = await self._client.transfer(transfer)
        except OutcomeUnknownError as exc:
            self._checkpoint("called")
            log.warning("withdrawal %s: outcome unknown (%s); hold kept", withdrawal.id, exc)
            return await self._outcome(withdrawal.id, _S.UNKNOWN, error=str(exc))
        except (APIError, TransportError) as exc:
            self._checkpoint("called")
            log.info("withdrawal %s refused by the API: %r", withdrawal.id, exc)
            return await self._outcome(withdrawal.id, _S.FAILED, error=f"{exc.code}: {exc}")
        except Exception as exc:
            log.exception("withdrawal %s: unexpected error from transfer", withdrawal.id)
            await self._outcome(withdrawal.id, _S.UNKNOWN, error=f"{type(exc).__name__}: {exc}")
            raise
        self._checkpoint("called")
        log.info("withdrawal %s sent: transfer %s", withdrawal.id, result.transfer_id)
        return await self._outcome(
            withdrawal.id, _S.SENT, transfer_id=result.transfer_id, tx_hash=result.tx_hash
        )

    async def _outcome(
        self,
        withdrawal_id: str,
        target: WithdrawalStatus,
        *,
        transfer_id: str | None = None,
        tx_hash: str | None = None,
        error: str | None = None,
    ) -> Withdrawal:
        """Record what the transfer call said; a definite answer also settles ``unknown``."""
        sources = {_S.SENDING} if target is _S.UNKNOWN else {_S.SENDING, _S.UNKNOWN}
        current, moved = await self._transition(
            withdrawal_id, sources, target, transfer_id=transfer_id, tx_hash=tx_hash, error=error
        )
        if not moved and current.status is not target:
            log.error(
                "withdrawal %s: the transfer said %s but it is already %s (resolved elsewhere)",
                withdrawal_id,
                target,
                current.status,
            )
        return current

    async def _transition(
        self,
        withdrawal_id: str,
        sources: set[WithdrawalStatus],
        target: WithdrawalStatus,
        *,
        transfer_id: str | None = None,
        tx_hash: str | None = None,
        error: str | None = None,
    ) -> tuple[Withdrawal, bool]:
        """The one way a stored withdrawal moves: lock, check, post/void, update, events.

        Returns the withdrawal as it is after the transaction, and whether it moved (False when
        its status was not in ``sources``; then nothing was changed).
        """

        async def run(conn: AsyncConnection) -> tuple[Withdrawal, list[Event], bool]:
            found = (
                await conn.execute(
                    select(withdrawals_table).where(_W.id == withdrawal_id).with_for_update()
                )
            ).first()
            if found is None:
                raise WithdrawalNotFound(f"no withdrawal {withdrawal_id!r}")
            current = _from_row(found)
            if current.status not in sources:
                return current, [], False
            move = check_transition(current.status, target)
            now = self._now()
            if move.effect is HoldEffect.VOID:
                await self._release_limit(conn, current)  # day row before balances: fixed order
                await self._ledger.void(current.hold_id, conn=conn)
            elif move.effect is HoldEffect.POST:
                await self._ledger.post(current.hold_id, conn=conn)
            values: dict[str, Any] = {"status": str(target), "updated_at": now}
            if transfer_id is not None:
                values["transfer_id"] = transfer_id
            if tx_hash is not None:
                values["tx_hash"] = tx_hash
            if error is not None:
                values["error"] = _short(error)
            await conn.execute(
                update(withdrawals_table).where(_W.id == withdrawal_id).values(**values)
            )
            moved = _from_row(_Row({**found._asdict(), **values}))
            drafts = [_status_draft(moved)]
            if move.effect in (HoldEffect.POST, HoldEffect.VOID):
                delta = current.amount if move.effect is HoldEffect.VOID else 0
                drafts.append(await self._balance_draft(conn, moved, delta))
            return moved, await record_events(conn, drafts, now), True

        withdrawal, events, moved = await self._store.run(run)
        await publish_quietly(self._publisher, events)
        return withdrawal, moved

    # ------------------------------------------------------------------------- operators

    async def resolve(
        self,
        withdrawal_id: str,
        *,
        sent: bool,
        tx_hash: str | None = None,
        transfer_id: str | None = None,
    ) -> Withdrawal:
        """Settle an ``unknown`` withdrawal: ``sent=True`` posts the hold, False voids it.

        Anything but an ``unknown`` withdrawal is refused with IllegalTransition;
        WithdrawalNotFound when there is no such withdrawal.
        """
        if type(sent) is not bool:
            raise InvalidInput("sent must be True or False")
        for name, value in (("tx_hash", tx_hash), ("transfer_id", transfer_id)):
            if value is not None and (not isinstance(value, str) or not 0 < len(value) <= 200):
                raise InvalidInput(f"{name} must be a string of 1-200 characters")
        target = _S.SENT if sent else _S.FAILED
        error = None if sent else "resolved as not sent"
        current, moved = await self._transition(
            withdrawal_id,
            {_S.UNKNOWN},
            target,
            transfer_id=transfer_id,
            tx_hash=tx_hash,
            error=error,
        )
        if not moved:
            raise IllegalTransition(
                f"withdrawal {withdrawal_id} is {current.status}: only unknown ones are resolved"
            )
        log.info("withdrawal %s resolved as %s", withdrawal_id, target)
        return current

    async def recover(self) -> WithdrawalRecoveryReport:
        """At start-up: ``sending`` -> ``unknown`` (hold kept); ``held`` -> ``failed`` (voided).

        Run it when no other process of this deployment is sending withdrawals. See the module
        doc for why a ``held`` withdrawal is voided rather than sent.
        """
        unknown: list[Withdrawal] = []
        failed: list[Withdrawal] = []
        for w in await self.list(status=_S.SENDING):
            after, moved = await self._transition(
                w.id, {_S.SENDING}, _S.UNKNOWN, error="interrupted while sending: outcome unknown"
            )
            if moved:
                unknown.append(after)
        for w in await self.list(status=_S.HELD):
            after, moved = await self._transition(
                w.id, {_S.HELD}, _S.FAILED, error="interrupted before sending: hold voided"
            )
            if moved:
                failed.append(after)
        if unknown or failed:
            log.warning(
                "recovery: %d withdrawal(s) now unknown, %d voided", len(unknown), len(failed)
            )
        return WithdrawalRecoveryReport(tuple(unknown), tuple(failed))

    async def reconcile_unknown(
        self, executed: ExecutedSource, *, absent_means_failed: bool = False
    ) -> WithdrawalReconcileReport:
        """Settle ``unknown`` withdrawals from a record of executed transfers (by ``note``).

        KryptoGO documents no transfer lookup, so ``executed`` comes from elsewhere: an iterable
        of records with ``note``/``transfer_id``/``tx_hash``, or a (possibly async) callable
        returning one. A withdrawal whose reference is there becomes ``sent`` (unless the record
        also carries an ``amount`` or ``wallet_address`` that differs: then it stays ``unknown``
        and is reported as mismatched). One that is not there becomes ``failed`` only with
        ``absent_means_failed=True`` (say so only when the record is complete for the period;
        otherwise it stays ``unknown``).
        """
        source: Any = executed() if callable(executed) else executed
        if inspect.isawaitable(source):
            source = await source
        by_note: dict[str, ExecutedTransferLike] = {}
        for record in source:
            if record.note is not None:
                by_note.setdefault(record.note, record)
        sent: list[Withdrawal] = []
        failed: list[Withdrawal] = []
        still: list[Withdrawal] = []
        mismatched: list[Withdrawal] = []
        for w in await self.list(status=_S.UNKNOWN):
            record = by_note.get(w.reference)
            if record is None and not absent_means_failed:
                still.append(w)
                continue
            if record is not None and not _record_matches(record, w):
                log.error("withdrawal %s: executed record %r does not match it", w.id, record)
                mismatched.append(w)
                continue
            try:
                if record is not None:
                    sent.append(
                        await self.resolve(
                            w.id, sent=True, transfer_id=record.transfer_id, tx_hash=record.tx_hash
                        )
                    )
                else:
                    failed.append(await self.resolve(w.id, sent=False))
            except IllegalTransition:
                continue  # settled concurrently by someone else
        return WithdrawalReconcileReport(
            tuple(sent), tuple(failed), tuple(still), tuple(mismatched)
        )

    # ------------------------------------------------------------------------- reading

    async def get(self, withdrawal_id: str) -> Withdrawal:
        """The withdrawal with that id, or WithdrawalNotFound."""

        async def run(conn: AsyncConnection) -> Any:
            return (
                await conn.execute(select(withdrawals_table).where(_W.id == withdrawal_id))
            ).first()

        found = await self._store.run(run)
        if found is None:
            raise WithdrawalNotFound(f"no withdrawal {withdrawal_id!r}")
        return _from_row(found)

    async def list(
        self, status: WithdrawalStatus | str | None = None, player_id: str | None = None
    ) -> builtins.list[Withdrawal]:
        """Withdrawals, oldest first, optionally only one status and/or one player's."""
        query = select(withdrawals_table).order_by(_W.created_at, _W.id)
        if status is not None:
            try:
                query = query.where(_W.status == str(WithdrawalStatus(status)))
            except ValueError:
                raise InvalidInput(f"not a withdrawal status: {status!r}") from None
        if player_id is not None:
            query = query.where(_W.player_id == player_id)

        async def run(conn: AsyncConnection) -> builtins.list[Withdrawal]:
            return [_from_row(r) for r in await conn.execute(query)]

        result: builtins.list[Withdrawal] = await self._store.run(run)
        return result

    async def day_total(self, player_id: str, asset_id: str, day: date) -> int:
        """The amount counting toward ``player_id``'s daily limit of ``asset_id`` on ``day``."""

        async def run(conn: AsyncConnection) -> Any:
            return (
                await conn.execute(
                    select(_D.total).where(
                        _D.player_id == player_id,
                        _D.asset_id == asset_id,
                        _D.day == day.isoformat(),
                    )
                )
            ).first()

        found = await self._store.run(run)
        return 0 if found is None else int(found.total)


class _Row:
    """Attribute access over a dict, so a row we just wrote reads like a fetched one."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.__dict__.update(values)
