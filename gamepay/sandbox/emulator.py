"""``Sandbox``: the emulated KryptoGO Studio service, its state, and its Python control API.

One ``Sandbox`` holds the intents, the simulated chain, the clock, the treasury, the transfer
record, the fault plan and the callback dispatcher. The ASGI app (``gamepay.sandbox.app``) is a
thin HTTP layer over it; tests drive it directly (``pay``, ``expire``, ``refund``, ``advance``,
``fund``...) or over HTTP through ``/_sandbox/``. State changes are synchronous and never await,
so each operation is atomic on the event loop. Every operation first expires the intents whose
deadline is past (``sweep``); a served sandbox on a real-time clock also sweeps every
``expiry_interval`` seconds. Status moves follow ``gamepay.sandbox.lifecycle`` (which states the
late-payment policy) and each one queues a callback when the intent has a ``callback_url``.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import secrets
from fractions import Fraction
from typing import Any, Literal

from gamepay.core.money import MAX_AMOUNT, format_amount, parse_amount
from gamepay.errors import AmountError, IllegalTransition, InvalidInput, SandboxError
from gamepay.kryptogo import wire
from gamepay.kryptogo.models import FiatCurrency, PaymentIntent, PaymentStatus
from gamepay.sandbox.callbacks import CallbackAttempt, CallbackDispatcher
from gamepay.sandbox.chain import (
    address_error,
    derive_address,
    derive_hex,
    derive_tx_hash,
    normalize_address,
    quote_units,
)
from gamepay.sandbox.clock import SandboxClock
from gamepay.sandbox.codes import (
    BALANCE_NOT_ENOUGH,
    CONFLICT,
    INVALID_PAYMENT_INTENT_ID,
    INVALID_REQUEST,
)
from gamepay.sandbox.config import ChainConfig, SandboxConfig, TokenConfig
from gamepay.sandbox.faults import FaultPlan, Faults, TimeoutMode
from gamepay.sandbox.lifecycle import (
    Payment,
    SandboxIntent,
    apply_expiry,
    apply_payment,
    apply_refund,
    force_expire,
)
from gamepay.sandbox.treasury import TransferLog, Treasury, TreasuryTransfer

__all__ = ["BalanceNotEnough", "PayMode", "Sandbox", "StatusChange"]

logger = logging.getLogger("gamepay.sandbox")

PayMode = Literal["exact", "short", "excess"]
"""Named payment sizes: exact = what is still due, short = half of it, excess = due + 10%."""

StatusChange = tuple[str, PaymentStatus, PaymentStatus]
"""``(intent id, old status, new status)``."""


def _bad(message: str) -> SandboxError:
    return SandboxError(message, api_code=INVALID_REQUEST, http_status=400)


class BalanceNotEnough(SandboxError):
    """The documented 4015 refusal: ``data`` is ``{"insufficient_amount": "<whole tokens>"}``."""

    def __init__(self, shortfall: str) -> None:
        super().__init__(
            wire.ERROR_MESSAGES[BALANCE_NOT_ENOUGH], api_code=BALANCE_NOT_ENOUGH, http_status=400
        )
        self.data = {wire.TRANSFER_INSUFFICIENT_AMOUNT: shortfall}


class Sandbox:
    """The emulated service: create/get/list intents, transfers, and control operations."""

    def __init__(self, config: SandboxConfig | None = None, faults: Faults | None = None) -> None:
        self.config = config or SandboxConfig()
        self.seed: int = self.config.seed if self.config.seed is not None else secrets.randbits(48)
        self.clock = SandboxClock(self.config.start_time, frozen=self.config.frozen_clock)
        self.plan = FaultPlan(faults)
        self.treasury = Treasury()
        self.transfers = TransferLog()
        self.callbacks = CallbackDispatcher(self.config, lambda: self.plan, self.clock.now)
        self.status_changes: list[StatusChange] = []
        self._intents: dict[str, SandboxIntent] = {}
        self._deadlines: list[tuple[int, int, str]] = []  # heap of (deadline, seq, id)
        self._seq = itertools.count(1)
        self._labels = itertools.count(1)
        self._closing: asyncio.Event | None = None
        self._ticker: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"Sandbox(seed={self.seed!r}, intents={len(self._intents)})"

    async def __aenter__(self) -> Sandbox:
        """Start background work (for in-process use, e.g. behind ``httpx.ASGITransport``)."""
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop background work."""
        await self.aclose()

    # -- lifecycle of the object ---------------------------------------------------------------

    async def start(self) -> None:
        """Start the callback worker and, on a real-time clock, the expiry ticker.

        Without ``start`` the worker still starts on the first callback queued inside a running
        loop; either way ``aclose()`` (or ``async with sandbox``) stops it.
        """
        self._closing = asyncio.Event()
        self.callbacks.start()
        if not self.clock.frozen and self._ticker is None:
            self._ticker = asyncio.create_task(self._tick(), name="gamepay-sandbox-expiry")

    async def aclose(self) -> None:
        """Stop background work and release requests hanging in a timeout fault."""
        self.release_hangs()
        ticker, self._ticker = self._ticker, None
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        await self.callbacks.aclose()

    def release_hangs(self) -> None:
        """Wake every request held by a timeout or latency fault (before a server shuts down)."""
        if self._closing is None:
            self._closing = asyncio.Event()
        self._closing.set()

    async def hang(self, seconds: float) -> None:
        """Sleep ``seconds``, or less if the sandbox closes meanwhile (timeout faults use it)."""
        if self._closing is None:
            self._closing = asyncio.Event()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.config.expiry_interval)
            self.sweep()

    # -- helpers -------------------------------------------------------------------------------

    def now(self) -> int:
        """The sandbox clock (unix seconds)."""
        return self.clock.now()

    def _label(self, kind: str) -> str:
        return f"{kind}:{next(self._labels)}"

    def _chain_of(self, intent: SandboxIntent) -> ChainConfig:
        chain = self.config.chain(intent.payment_chain_id)
        assert chain is not None
        return chain

    def _record(self, intent: SandboxIntent, old: PaymentStatus) -> None:
        if intent.status is not old:
            self.status_changes.append((intent.payment_intent_id, old, intent.status))
        self._notify(intent)

    def _notify(self, intent: SandboxIntent) -> None:
        if intent.callback_url:
            self.callbacks.enqueue(
                intent.payment_intent_id, intent.status.value, intent.callback_url, intent.to_wire()
            )

    def _find(self, intent_id: str) -> SandboxIntent:
        intent = self._intents.get(intent_id) if isinstance(intent_id, str) else None
        if intent is None:
            raise SandboxError(
                f"invalid payment_intent_id: {str(intent_id)[:80]!r}",
                api_code=INVALID_PAYMENT_INTENT_ID,
                http_status=404,
            )
        return intent

    def sweep(self) -> list[str]:
        """Close every pending intent whose deadline is past; return their ids."""
        now = self.now()
        moved = []
        heap = self._deadlines
        while heap and heap[0][0] < now:
            intent = self._intents[heapq.heappop(heap)[2]]
            if apply_expiry(intent, now):
                self._record(intent, PaymentStatus.PENDING)
                moved.append(intent.payment_intent_id)
        return moved

    # -- the KryptoGO API ----------------------------------------------------------------------

    def create_intent(
        self,
        *,
        fiat_amount: str,
        fiat_currency: FiatCurrency | str,
        callback_url: str | None = None,
        order_data: dict[str, Any] | None = None,
        group_key: str | None = None,
    ) -> SandboxIntent:
        """Create a pending intent quoted from the fiat amount (inputs already type-checked)."""
        self.sweep()
        currency = FiatCurrency(fiat_currency)
        ref = self.config.group_tokens.get(group_key or "", self.config.payment_token)
        chain, token = self.config.resolve_token(ref)
        price = self.config.price(currency.value, token.symbol)
        if price is None:
            raise _bad(f"no quote for {token.symbol} in {currency.value}")
        units = quote_units(Fraction(fiat_amount), price, token)
        if units > MAX_AMOUNT:
            raise _bad("fiat_amount is too large")
        seq = next(self._seq)
        intent_id = "pi_" + derive_hex(self.seed, f"intent:{seq}")[:24]
        now = self.now()
        intent = SandboxIntent(
            payment_intent_id=intent_id,
            seq=seq,
            created_at=now,
            payment_chain_id=chain.chain_id,
            payment_address=derive_address(chain.family, self.seed, f"address:{intent_id}"),
            token_address=token.address,
            symbol=token.symbol,
            decimals=token.decimals,
            crypto_amount=units,
            fiat_amount=fiat_amount,
            fiat_currency=currency,
            payment_deadline=now + self.config.deadline_seconds,
            callback_url=callback_url,
            order_data=order_data,
            group_key=group_key,
            client_id=self.config.client_id,
            org_id=self.config.org_id,
        )
        self._intents[intent_id] = intent
        heapq.heappush(self._deadlines, (intent.payment_deadline, seq, intent_id))
        logger.debug("created %s for %s %s", intent_id, fiat_amount, currency.value)
        return intent

    def get_intent(self, intent_id: str) -> SandboxIntent:
        """The intent with that id; SandboxError 4006 when unknown."""
        self.sweep()
        return self._find(intent_id)

    def list_intents(
        self,
        *,
        status: PaymentStatus | None = None,
        group_key: str | None = None,
        created_after: int | None = None,
        created_before: int | None = None,
        page: int = 1,
        page_size: int = 50,
    ) -> tuple[list[SandboxIntent], int]:
        """One page of intents in creation order, and the total count matching the filters.

        ``created_after <= created_at < created_before`` (as ``kryptogo.wire`` states). With
        ``config.list_ignores_filters`` every filter and ``page_size`` are ignored: all intents,
        newest first, in pages of ``config.list_page_size``.
        """
        self.sweep()
        if self.config.list_ignores_filters:
            size = self.config.list_page_size
            everything = list(reversed(self._intents.values()))
            start = (page - 1) * size
            return everything[start : start + size], len(everything)
        matching = [
            intent
            for intent in self._intents.values()
            if (status is None or intent.status is status)
            and (group_key is None or intent.group_key == group_key)
            and (created_after is None or intent.created_at >= created_after)
            and (created_before is None or intent.created_at < created_before)
        ]
        start = (page - 1) * page_size
        return matching[start : start + page_size], len(matching)

    def _token(self, chain_id: object, token_ref: object) -> tuple[ChainConfig, TokenConfig]:
        if not isinstance(chain_id, str) or (chain := self.config.chain(chain_id)) is None:
            raise _bad(f"unknown chain_id: {str(chain_id)[:40]!r}")
        if not isinstance(token_ref, str) or (token := chain.token(token_ref)) is None:
            raise _bad(f"unknown token on {chain_id}: {str(token_ref)[:80]!r}")
        return chain, token

    def transfer(
        self,
        *,
        chain_id: str,
        contract_address: str,
        amount: str,
        wallet_address: str,
    ) -> TreasuryTransfer:
        """Execute an asset_pro transfer from the treasury; recorded, never deduplicated.

        SandboxError 4000 for an unknown chain or token, a bad amount or address;
        ``BalanceNotEnough`` (4015, the shortfall in whole tokens) when the treasury holds less
        than the amount. The transfer id has the documented form ``<org>-<unix time>-<seq>``.
        """
        self.sweep()
        chain, token = self._token(chain_id, contract_address)
        if why := address_error(chain.family, contract_address):
            raise _bad(f"contract_address: {why}")
        if normalize_address(chain.family, contract_address) != token.address:
            raise _bad("contract_address must be the token's contract address")
        try:
            units = parse_amount(amount, token.decimals)
        except AmountError as exc:
            raise _bad(f"amount: {exc.message}") from exc
        if why := address_error(chain.family, wallet_address):
            raise _bad(f"wallet_address: {why}")
        if units <= 0:
            raise _bad("amount must be greater than zero")
        if not self.treasury.try_debit(chain.chain_id, token.address, units):
            have = self.treasury.balance(chain.chain_id, token.address)
            raise BalanceNotEnough(format_amount(units - have, token.decimals))
        label = self._label("transfer")
        seq = len(self.transfers) + 1
        now = self.now()
        record = TreasuryTransfer(
            seq=seq,
            transfer_id=f"{self.config.org_id}-{now}-{seq}",
            tx_hash=derive_tx_hash(chain.family, self.seed, label),
            chain_id=chain.chain_id,
            contract_address=token.address,
            symbol=token.symbol,
            decimals=token.decimals,
            amount=units,
            wallet_address=normalize_address(chain.family, wallet_address),
            executed_at=now,
        )
        self.transfers.append(record)
        logger.debug("transfer %s executed", record.transfer_id)
        return record

    # -- the control API -----------------------------------------------------------------------

    def intent(self, intent_id: str) -> PaymentIntent:
        """A snapshot of one intent as the API shows it."""
        return self.get_intent(intent_id).to_model()

    def intents(self) -> list[PaymentIntent]:
        """Snapshots of every intent in creation order."""
        self.sweep()
        return [intent.to_model() for intent in self._intents.values()]

    def raw_intent(self, intent_id: str) -> SandboxIntent:
        """The sandbox's own mutable record (payments and status history included); read only."""
        return self._find(intent_id)

    def _pay_units(self, intent: SandboxIntent, how: PayMode | int | str) -> int:
        if intent.status is PaymentStatus.PENDING:
            due = intent.crypto_amount - (intent.received_amount or 0)
        else:
            due = intent.crypto_amount
        if how == "exact":
            return due
        if how == "short":
            if due < 2:
                raise _bad("cannot pay short: less than 2 base units are due")
            return due // 2
        if how == "excess":
            return due + max(1, intent.crypto_amount // 10)
        try:
            if type(how) is int:
                if how <= 0:
                    raise _bad("a payment amount must be positive")
                return how
            return parse_amount(how, intent.decimals)
        except AmountError as exc:
            raise _bad(f"amount: {exc.message}") from exc

    def pay(
        self,
        intent_id: str,
        how: PayMode | int | str = "exact",
        *,
        late: bool = False,
        final: bool = True,
    ) -> PaymentIntent:
        """Send a payment to the intent's address.

        ``how``: ``"exact"``, ``"short"``, ``"excess"``, an int of base units or a decimal
        string. ``late=True`` on a pending intent first expires it, so the payment lands late.
        ``final=False`` keeps a short-paid intent pending (more payments may follow).
        """
        self.sweep()
        intent = self._find(intent_id)
        units = self._pay_units(intent, how)
        if late and intent.status is PaymentStatus.PENDING:
            force_expire(intent)
            self._record(intent, PaymentStatus.PENDING)
        chain = self._chain_of(intent)
        label = self._label("payment")
        payment = Payment(
            amount=units,
            tx_hash=derive_tx_hash(chain.family, self.seed, label),
            payer_address=derive_address(chain.family, self.seed, f"payer:{label}"),
            at=self.now(),
            late=intent.status is not PaymentStatus.PENDING,
        )
        old = intent.status
        moved = apply_payment(
            intent,
            payment,
            final=final,
            aggregation_tx_hash=derive_tx_hash(chain.family, self.seed, f"aggregate:{label}"),
        )
        if moved:
            self._record(intent, old)
        elif payment.late and self.config.notify_late_payments:
            self._notify(intent)
        return intent.to_model()

    def expire(self, intent_id: str) -> PaymentIntent:
        """Close a pending intent now (expired, or insufficient if paid short); else a no-op."""
        self.sweep()
        intent = self._find(intent_id)
        old = intent.status
        if force_expire(intent):
            self._record(intent, old)
        return intent.to_model()

    def refund(self, intent_id: str, amount: int | str | None = None) -> PaymentIntent:
        """Refund an insufficient payment (all received by default): SandboxError 4090 otherwise."""
        self.sweep()
        intent = self._find(intent_id)
        units: int | None
        try:
            units = parse_amount(amount, intent.decimals) if isinstance(amount, str) else amount
        except AmountError as exc:
            raise _bad(f"amount: {exc.message}") from exc
        chain = self._chain_of(intent)
        tx_hash = derive_tx_hash(chain.family, self.seed, self._label("refund"))
        old = intent.status
        try:
            apply_refund(intent, units, tx_hash)
        except IllegalTransition as exc:
            raise SandboxError(exc.message, api_code=CONFLICT, http_status=409) from exc
        except InvalidInput as exc:
            raise _bad(exc.message) from exc
        self._record(intent, old)
        return intent.to_model()

    def advance(self, seconds: int) -> int:
        """Move the clock forward and expire what is past its deadline; return the new time."""
        try:
            self.clock.advance(seconds)
        except ValueError as exc:
            raise _bad(str(exc)) from exc
        self.sweep()
        return self.now()

    def fund(self, chain_id: str, token: str, amount: int | str) -> int:
        """Add to the treasury (``token`` is a symbol or address); return the new balance."""
        chain, tok = self._token(chain_id, token)
        try:
            units = parse_amount(amount, tok.decimals) if isinstance(amount, str) else amount
            if type(units) is not int or units <= 0:
                raise _bad("amount must be positive")
        except AmountError as exc:
            raise _bad(f"amount: {exc.message}") from exc
        return self.treasury.fund(chain.chain_id, tok.address, units)

    def balance(self, chain_id: str, token: str) -> int:
        """The treasury balance of a token, in base units."""
        chain, tok = self._token(chain_id, token)
        return self.treasury.balance(chain.chain_id, tok.address)

    @property
    def faults(self) -> Faults:
        """The fault configuration in force."""
        return self.plan.faults

    def set_faults(self, faults: Faults | None) -> None:
        """Replace the fault configuration (restarting its seeded streams)."""
        armed = self.plan.armed()
        self.plan = FaultPlan(faults)
        for operation, modes in armed.items():
            for mode in modes:
                self.plan.arm(operation, mode)  # type: ignore[arg-type]

    def arm_timeout_after_commit(
        self, operation: Literal["create", "transfer"], mode: TimeoutMode = "hang"
    ) -> None:
        """Make the next create or transfer commit and then lose its answer."""
        self.plan.arm(operation, mode)

    @property
    def callback_log(self) -> list[CallbackAttempt]:
        """Every callback attempt so far (dropped ones included)."""
        return list(self.callbacks.log)

    async def flush_callbacks(self, within: float = 10.0) -> None:
        """Wait until every queued callback is delivered or given up (TimeoutError after
        ``within`` seconds)."""
        await self.callbacks.flush(within)
