"""Withdrawals: hold the player's tokens, send them once through asset_pro, post or void the hold.

```python
withdrawals = Withdrawals(store, ledger, client, config=WithdrawalsConfig(tokens={t.id: t}))
w = await withdrawals.withdraw("alice", t.id, 5_000_000, "0xd8dA...", request_id="req-1")
```

The lifecycle is ``gamepay.core.withdrawals`` (a transition table); every move goes through one
function (``gamepay.withdrawals.transitions``) that locks the row, applies the table, posts or
voids the ledger hold and writes the events in ONE transaction. The guarantees:

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

This module holds the request and sending path; ``settlement`` the operator side (``resolve``,
``recover``, ``reconcile_unknown``), ``reads`` the reads, ``transitions`` the one way a row moves.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.bus.outbox import publish_quietly, record_events
from gamepay.core.accounts import AccountKind, player_account, world_account
from gamepay.core.assets import Token
from gamepay.core.events import Event, EventPublisher
from gamepay.core.transfers import TransferKind, TransferSpec
from gamepay.core.withdrawals import (
    WithdrawalStatus,
    hold_id_for,
    limit_day,
)
from gamepay.errors import (
    APIError,
    ConcurrencyError,
    ConfigError,
    LimitExceeded,
    OutcomeUnknownError,
    TransportError,
    TreasuryInsufficient,
    WithdrawalConflict,
)
from gamepay.kryptogo.transfers import TransferRequest, TransferResult
from gamepay.ledger import Ledger
from gamepay.store import Store
from gamepay.withdrawals.config import WithdrawalsConfig
from gamepay.withdrawals.events import status_draft
from gamepay.withdrawals.records import (
    Withdrawal,
)
from gamepay.withdrawals.repository import WithdrawalRepository
from gamepay.withdrawals.settlement import Settlement
from gamepay.withdrawals.transitions import Mover

__all__ = ["TransferClient", "Withdrawals"]

log = logging.getLogger("gamepay.withdrawals.service")

_S = WithdrawalStatus


class TransferClient(Protocol):
    """What the service needs of ``KryptoGOClient``: one asset_pro transfer call."""

    async def transfer(self, request: TransferRequest) -> TransferResult:
        """Send tokens; raise OutcomeUnknownError when it may or may not have happened."""
        ...


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return f"wd_{uuid.uuid4().hex}"


class Withdrawals(Settlement):
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
        self._ledger = ledger
        self._client = client
        self._config = config
        self._zone = config.zone
        self._clock = clock or _utc_now
        self._publisher = publisher
        self._new_id = new_id or _new_id
        self._checkpoint = checkpoint or (lambda step: None)
        self._prepared = False
        rows = WithdrawalRepository(store.dialect)
        mover = Mover(store, ledger, rows, now=self._now, publisher=publisher)
        super().__init__(store, rows, mover)

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
            drafts.append(await self._mover.balance_draft(conn, created, -amount))
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

    # ------------------------------------------------------------------------- sending

    async def _send(self, withdrawal: Withdrawal, transfer: TransferRequest) -> Withdrawal:
        """Move held -> sending (committed), then call transfer once and record its outcome."""
        self._checkpoint("held")
        sending, moved = await self._mover.transition(withdrawal.id, {_S.HELD}, _S.SENDING)
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
        current, moved = await self._mover.transition(
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
