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
  with the four documented fields only (no note: nothing here depends on the API storing one).
  Nothing ever moves a withdrawal back to ``held`` or ``sending``.
- **Funds never vanish.** Success posts the hold (``sent``); a definite refusal voids it
  (``failed``: the funds are back; a 4015 also logs "refill the treasury"); an unknown outcome
  (``OutcomeUnknownError``, any unexpected error, or a crash while ``sending``) keeps the hold
  until ``resolve`` (an operator) or ``reconcile_unknown`` says what happened.
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
``reconcile_unknown(executed)`` takes the executed transfers from elsewhere (the Studio's transfer
export, or the sandbox's record in tests) and matches them by transfer id / tx hash, else by
chain, token, wallet and exact amount inside a time window (``gamepay.withdrawals.matching``).
"""

from __future__ import annotations

import builtins
import inspect
import logging
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.bus.outbox import EventDraft, publish_quietly, record_events
from gamepay.core.accounts import AccountKind, player_account, world_account
from gamepay.core.assets import Token
from gamepay.core.events import Event, EventPublisher
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
    ConcurrencyError,
    ConfigError,
    IllegalTransition,
    InvalidInput,
    LimitExceeded,
    OutcomeUnknownError,
    TransportError,
    TreasuryInsufficient,
    WithdrawalConflict,
    WithdrawalNotFound,
)
from gamepay.kryptogo.transfers import TransferRequest, TransferResult
from gamepay.ledger import Ledger
from gamepay.store import Store
from gamepay.withdrawals.config import WithdrawalsConfig
from gamepay.withdrawals.events import balance_draft, status_draft
from gamepay.withdrawals.matching import (
    DEFAULT_SKEW,
    DEFAULT_WINDOW,
    Match,
    MatchOutcome,
    match_withdrawals,
)
from gamepay.withdrawals.records import (
    ExecutedSource,
    Withdrawal,
    WithdrawalReconcileReport,
    WithdrawalRecoveryReport,
)
from gamepay.withdrawals.repository import WithdrawalRepository

__all__ = ["TransferClient", "Withdrawals"]

log = logging.getLogger("gamepay.withdrawals.service")

_S = WithdrawalStatus
_MAX_ERROR = 500


class TransferClient(Protocol):
    """What the service needs of ``KryptoGOClient``: one asset_pro transfer call."""

    async def transfer(self, request: TransferRequest) -> TransferResult:
        """Send tokens; raise OutcomeUnknownError when it may or may not have happened."""
        ...


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return f"wd_{uuid.uuid4().hex}"


def _short(text: str) -> str:
    return text if len(text) <= _MAX_ERROR else text[: _MAX_ERROR - 3] + "..."


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
        self._rows = WithdrawalRepository(store.dialect)

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

        Called by the first ``withdraw`` of this service; the ledger's own cache answers for the
        assets and accounts it already knows.
        """
        for token in self._config.tokens.values():
            await self._ledger.register_asset(token)
            await self._ledger.open_account(
                world_account(token.chain_id), kind=AccountKind.SYSTEM, allow_negative=True
            )
        self._prepared = True

    # ------------------------------------------------------------------------- withdraw

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
        token, normalized = self._config.check_request(
            player_id, asset_id, amount, address, request_id
        )
        if not self._prepared:
            await self.prepare()
        now = self._now()
        day = limit_day(now, self._zone)
        wid = self._new_id()
        reference = f"gamepay/withdrawal/{wid}"
        created = Withdrawal(
            id=wid,
            reference=reference,
            player_id=player_id,
            request_id=request_id,
            asset_id=token.id,
            chain_id=token.chain_id,
            token_address=token.address,
            decimals=token.decimals,
            amount=amount,
            address=normalized,
            status=_S.HELD,
            limit_day=day,
            created_at=now,
            updated_at=now,
        )
        # Built before anything is written: a request the client refuses never holds funds.
        transfer = TransferRequest(
            chain_id=token.chain_id,
            token_address=token.address,
            amount=amount,
            decimals=token.decimals,
            wallet_address=normalized,
            reference=reference,
        )

        async def create(conn: AsyncConnection) -> tuple[Withdrawal, list[Event], bool]:
            existing = await self._rows.by_request(conn, player_id, request_id)
            inserted = existing is None and await self._rows.insert(conn, created)
            if existing is None and not inserted:
                # a concurrent request with the same id committed first (READ COMMITTED sees it)
                existing = await self._rows.by_request(conn, player_id, request_id)
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
            drafts = [status_draft(created, token.symbol)]
            drafts.append(await self._balance_draft(conn, created, -amount))
            events = await record_events(conn, drafts, now)
            return created, events, True

        withdrawal, events, is_new = await self._store.run(create)
        await publish_quietly(self._publisher, events)
        if not is_new:
            return withdrawal
        log.info("withdrawal %s held: %s %s to %s", wid, amount, token.symbol, normalized)
        return await self._send(withdrawal, transfer)

    async def _take_limit(
        self, conn: AsyncConnection, player_id: str, token: Token, day: date, amount: int
    ) -> None:
        """Add ``amount`` to the day's total under a row lock; LimitExceeded above the limit."""
        total = await self._rows.lock_day(conn, player_id, token.id, day, create=True)
        limit = self._config.daily_limit.get(token.id)
        if limit is not None and total + amount > limit:
            raise LimitExceeded(
                f"the daily limit of {limit} base units of {token.symbol} would be exceeded "
                f"({total} already withdrawn on {day.isoformat()})"
            )
        await self._rows.write_day(conn, player_id, token.id, day, total + amount)

    async def _release_limit(self, conn: AsyncConnection, w: Withdrawal) -> None:
        """Give a failed withdrawal's amount back to its day's total."""
        total = await self._rows.lock_day(conn, w.player_id, w.asset_id, w.limit_day, create=False)
        await self._rows.write_day(
            conn, w.player_id, w.asset_id, w.limit_day, max(0, total - w.amount)
        )

    async def _balance_draft(self, conn: AsyncConnection, w: Withdrawal, delta: int) -> EventDraft:
        """balance_changed for the player; ``delta`` is the change of the available balance."""
        balance = await self._ledger.balance(player_account(w.player_id), w.asset_id, conn=conn)
        code = await self._code(conn, w)
        return balance_draft(w, code, delta, balance.available, balance.held)

    async def _code(self, conn: AsyncConnection, w: Withdrawal) -> str:
        """The display code (symbol) of ``w``'s token, for its events."""
        asset = (await self._ledger.get_assets([w.asset_id], conn=conn)).get(w.asset_id)
        return asset.symbol if isinstance(asset, Token) else w.asset_id

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
        except TreasuryInsufficient as exc:
            self._checkpoint("called")
            log.error(
                "withdrawal %s refused: the KryptoGO treasury is short of %s %s on %s "
                "(shortfall %s); refill the treasury. The hold is voided, the funds are back.",
                withdrawal.id,
                transfer.amount_text,
                transfer.token_address,
                transfer.chain_id,
                exc.shortfall_text or "unknown",
            )
            return await self._outcome(withdrawal.id, _S.FAILED, error=f"{exc.code}: {exc}")
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
            drafts = [status_draft(moved, await self._code(conn, moved))]
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
        self,
        executed: ExecutedSource,
        *,
        absent_means_failed: bool = False,
        window: timedelta = DEFAULT_WINDOW,
        skew: timedelta = DEFAULT_SKEW,
        dry_run: bool = False,
    ) -> WithdrawalReconcileReport:
        """Settle ``unknown`` (and ``sending``) withdrawals from a record of executed transfers.

        ``executed``: records (``ExecutedTransferLike``) or a (possibly async) callable returning
        them: the Studio's transfer export, or the sandbox's record. Matching is
        ``gamepay.withdrawals.matching``: exactly one candidate makes a withdrawal ``sent``;
        several, or a record with its id but other details, leave it for an operator (listed in
        ``candidates``); none leaves it as it is, or makes an ``unknown`` one ``failed`` with
        ``absent_means_failed=True`` (say so only when the record is complete for the period).
        ``dry_run`` changes nothing and reports what would be done.
        """
        source: Any = executed() if callable(executed) else executed
        if inspect.isawaitable(source):
            source = await source
        records = builtins.list(source)
        open_ = await self.list(status=_S.UNKNOWN) + await self.list(status=_S.SENDING)
        ids, hashes = await self._store.read(self._rows.claimed_transfers)
        verdicts = match_withdrawals(
            open_,
            records,
            claimed_ids=ids,
            claimed_hashes=hashes,
            window=window,
            skew=skew,
            absent_means_failed=absent_means_failed,
        )
        done: dict[MatchOutcome, builtins.list[Withdrawal]] = {o: [] for o in MatchOutcome}
        candidates: dict[str, tuple[Any, ...]] = {}
        for verdict in verdicts:
            settled = verdict.withdrawal if dry_run else await self._settle(verdict)
            if settled is not None:
                done[verdict.outcome].append(settled)
            if verdict.outcome in (MatchOutcome.AMBIGUOUS, MatchOutcome.MISMATCHED):
                candidates[verdict.withdrawal.id] = verdict.candidates
                log.error(
                    "withdrawal %s left for an operator (%s): %d candidate transfer(s)",
                    verdict.withdrawal.id,
                    verdict.why,
                    len(verdict.candidates),
                )
        return WithdrawalReconcileReport(
            sent=tuple(done[MatchOutcome.SENT]),
            failed=tuple(done[MatchOutcome.FAILED]),
            still_unknown=tuple(done[MatchOutcome.NONE]),
            mismatched=tuple(done[MatchOutcome.MISMATCHED]),
            ambiguous=tuple(done[MatchOutcome.AMBIGUOUS]),
            candidates=candidates,
            dry_run=dry_run,
        )

    async def _settle(self, verdict: Match) -> Withdrawal | None:
        """Apply one verdict; None when the withdrawal was settled concurrently meanwhile."""
        w = verdict.withdrawal
        if verdict.outcome is MatchOutcome.SENT:
            record = verdict.record
            tx_hash = getattr(record, "tx_hash", None)
            after, moved = await self._transition(
                w.id,
                {_S.UNKNOWN, _S.SENDING},
                _S.SENT,
                transfer_id=getattr(record, "transfer_id", None),
                tx_hash=tx_hash if isinstance(tx_hash, str) and tx_hash else None,
            )
        elif verdict.outcome is MatchOutcome.FAILED:
            after, moved = await self._transition(
                w.id, {_S.UNKNOWN}, _S.FAILED, error="reconciled as not sent (no executed transfer)"
            )
        else:
            return w
        if moved:
            log.info("withdrawal %s reconciled as %s (%s)", w.id, after.status, verdict.why)
        return after if moved else None

    # ------------------------------------------------------------------------- reading

    async def get(self, withdrawal_id: str) -> Withdrawal:
        """The withdrawal with that id, or WithdrawalNotFound."""

        async def run(conn: AsyncConnection) -> Withdrawal | None:
            return await self._rows.get(conn, withdrawal_id)

        found = await self._store.run(run)
        if found is None:
            raise WithdrawalNotFound(f"no withdrawal {withdrawal_id!r}")
        return found

    async def list(
        self, status: WithdrawalStatus | str | None = None, player_id: str | None = None
    ) -> builtins.list[Withdrawal]:
        """Withdrawals, oldest first, optionally only one status and/or one player's."""
        try:
            wanted = None if status is None else WithdrawalStatus(status)
        except ValueError:
            raise InvalidInput(f"not a withdrawal status: {status!r}") from None

        async def run(conn: AsyncConnection) -> builtins.list[Withdrawal]:
            return await self._rows.list(conn, wanted, player_id)

        result: builtins.list[Withdrawal] = await self._store.run(run)
        return result

    async def day_total(self, player_id: str, asset_id: str, day: date) -> int:
        """The amount counting toward ``player_id``'s daily limit of ``asset_id`` on ``day``."""

        async def run(conn: AsyncConnection) -> int:
            return await self._rows.day_total(conn, player_id, asset_id, day)

        total: int = await self._store.run(run)
        return total
