"""``Payments``: purchases, top-ups and buy-with-balance, with exactly-once effects.

```python
payments = Payments(store, ledger, client, catalog, config=PaymentsConfig(callback_url=...))
instructions = await payments.purchase("alice", "sword", request_id="r-1")
# ... the player pays; KryptoGO calls back ...
response = await payments.handle_callback(body, headers)    # mount in any web framework
await payments.poll_due()                                    # every few seconds
await payments.reconcile(since, until)                       # e.g. hourly, over the last day
```

How it stays exactly-once:

- **Orders first.** The local order is written (``creating``) before the intent is created, and the
  intent's ``order_data`` carries ``{"order_id": ...}``. A create whose outcome is unknown is
  resolved by finding the intent through its ``order_data`` (``list_intents`` filtered by the
  group key) before any retry, so an order never gets two intents.
- **One way in.** ``apply(intent)`` is the only function that moves an order. It judges the
  intent's status with the transition table in ``gamepay.core.intents`` (duplicates are no-ops,
  stale or illegal updates are refused and recorded in ``gp_refused_transitions``), posts the
  ledger batches ``gamepay.payments.settlement`` derives (deterministic batch ids), updates the
  order, logs the move and writes the outbox events, all in ONE database transaction
  (``store.run``) under a row lock on the order, so a crash can never grant without recording
  or record without granting, and concurrent updates of one order serialize.
- **Never trust a callback.** ``handle_callback`` fetches the intent back from the API and applies
  that (see ``gamepay.payments.callbacks``).

Policies (``PaymentsConfig``): an overpayment is credited to the player's token balance
(``excess_policy="credit"``, or ``"revenue"``); a payment landing on an expired intent is credited
to the player's token balance (``late_policy="credit"``, or ``"revenue"``); an insufficient
payment grants nothing and the order tracks KryptoGO's refund.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.bus.outbox import EventDraft, events_after, publish_quietly, record_events
from gamepay.core.accounts import (
    REVENUE,
    AccountKind,
    issuer_account,
    player_account,
    world_account,
)
from gamepay.core.assets import Token
from gamepay.core.events import Event, EventPublisher, EventType
from gamepay.core.intents import OrderKind, OrderStatus, steps
from gamepay.core.money import format_amount
from gamepay.core.transfers import TransferKind, TransferSpec
from gamepay.errors import (
    APIError,
    AssetError,
    BalancePriceMissing,
    InvalidInput,
    OrderNotFound,
    OutcomeUnknownError,
    PaymentError,
    RateLimitError,
    TransportError,
)
from gamepay.kryptogo.models import FiatCurrency, PaymentIntent, PaymentStatus
from gamepay.payments import orders as q
from gamepay.payments.callbacks import CallbackResponse, handle_callback
from gamepay.payments.catalog import Catalog, check_fiat_amount
from gamepay.payments.orders import Order
from gamepay.payments.settlement import (
    GrantSpec,
    MoneyPolicy,
    covers_quote,
    paid_total,
    settle,
)
from gamepay.store.schema.payments import orders_table

if TYPE_CHECKING:
    from gamepay.kryptogo.client import KryptoGOClient
    from gamepay.ledger import Ledger
    from gamepay.ledger.records import Balance
    from gamepay.payments.poller import PollReport
    from gamepay.payments.reconcile import ReconcileReport
    from gamepay.store import Store

__all__ = [
    "ApplyOutcome",
    "ApplyResult",
    "Clock",
    "FaultHook",
    "PaymentInstructions",
    "Payments",
    "PaymentsConfig",
]

log = logging.getLogger("gamepay.payments.service")

T = TypeVar("T")

Clock = Callable[[], datetime]
"""Returns the current time as an aware UTC datetime."""

FaultHook = Callable[[str], None]
"""Test hook called at named points (``"apply.after_ledger"``, ...); raising there is a crash."""

_POLLED = (OrderStatus.CREATING, OrderStatus.PENDING, OrderStatus.INSUFFICIENT_NOT_REFUNDED)
_INTENT_STATUSES = frozenset(s.value for s in PaymentStatus)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class PaymentsConfig(BaseModel):
    """How the payments service behaves; every inferred policy is a setting here."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    group_key: str = Field(default="gamepay", min_length=1, max_length=200)
    """Every intent is created with this ``group_key``; lookups and reconciliation filter on it."""
    callback_url: str | None = None
    """Where KryptoGO sends status updates (None: rely on polling)."""
    excess_policy: MoneyPolicy = MoneyPolicy.CREDIT
    """Overpayment: credit the difference to the player's token balance, or keep it as revenue."""
    late_policy: MoneyPolicy = MoneyPolicy.CREDIT
    """Payment on an expired intent: credit it to the player's token balance, or keep it."""
    callback_secret: SecretStr | None = None
    """When set, callbacks must be signed (``gamepay.kryptogo.signing``)."""
    callback_window: int = Field(default=300, gt=0)
    """A signed callback's ``timestamp`` may be at most this many seconds from now."""
    revenue_account: str = REVENUE
    """The account purchase prices are paid into."""
    create_attempts: int = Field(default=3, ge=1, le=10)
    """How many times one ``purchase``/``top_up`` call tries to create the intent."""
    create_grace: float = Field(default=30.0, ge=0)
    """A create attempt younger than this (seconds) may still be in flight: never create again
    before it is over (set above the client's timeout)."""
    clock_skew: int = Field(default=3600, ge=0)
    """Seconds our clock and the API's may disagree by; lookups widen their window by it."""
    poll_base: float = Field(default=5.0, gt=0)
    """First poll of a pending order this many seconds after it was created; then doubling."""
    poll_cap: float = Field(default=300.0, gt=0)
    """The longest wait between two polls of one order."""
    poll_batch: int = Field(default=100, ge=1)
    """The most orders one ``poll_due`` call polls."""
    creating_timeout: float = Field(default=3600.0, gt=0)
    """A ``creating`` order whose intent is still not found after this many seconds: failed."""


@dataclass(frozen=True, slots=True)
class PaymentInstructions:
    """What the player needs to pay: exactly ``crypto_amount`` of the token to ``address``."""

    order_id: str
    payment_intent_id: str
    chain_id: str
    token_address: str
    symbol: str
    decimals: int
    address: str
    crypto_amount: int
    crypto_amount_text: str
    deadline: int
    fiat_amount: str
    fiat_currency: str

    @classmethod
    def from_order(cls, order: Order) -> PaymentInstructions:
        """Build from an order whose intent is known."""
        if (
            order.payment_intent_id is None
            or order.chain_id is None
            or order.token_address is None
            or order.symbol is None
            or order.decimals is None
            or order.crypto_amount is None
            or order.payment_address is None
            or order.payment_deadline is None
        ):
            raise PaymentError(f"order {order.id} has no payment intent yet")
        return cls(
            order_id=order.id,
            payment_intent_id=order.payment_intent_id,
            chain_id=order.chain_id,
            token_address=order.token_address,
            symbol=order.symbol,
            decimals=order.decimals,
            address=order.payment_address,
            crypto_amount=order.crypto_amount,
            crypto_amount_text=format_amount(order.crypto_amount, order.decimals),
            deadline=order.payment_deadline,
            fiat_amount=order.fiat_amount or "",
            fiat_currency=order.fiat_currency or "",
        )


class ApplyOutcome(StrEnum):
    """What ``apply`` did with an intent."""

    APPLIED = "applied"
    """The order moved (or was linked to its intent)."""
    SETTLED = "settled"
    """Same status, but new money was settled (a late payment, money after success)."""
    DUPLICATE = "duplicate"
    """Nothing new: a no-op."""
    REFUSED = "refused"
    """Stale, illegal or not matching the order: recorded in gp_refused_transitions, a no-op."""
    UNKNOWN = "unknown"
    """No local order for this intent: recorded in gp_unknown_intents."""


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """The outcome of one ``apply``."""

    outcome: ApplyOutcome
    payment_intent_id: str
    order_id: str | None = None
    status_before: str | None = None
    status_after: str | None = None
    granted: bool = False
    """True when this call granted the asset (or credited the top-up)."""
    credited: int = 0
    """Net change this call made to the player's token balance (base units)."""
    reason: str | None = None
    events: tuple[Event, ...] = ()


def _check_player(player_id: object) -> str:
    if not isinstance(player_id, str) or not 0 < len(player_id) <= 180:
        raise InvalidInput("player_id must be a string of 1-180 characters")
    player_account(player_id)  # AccountError for characters an account id cannot hold
    return player_id


def _check_request_id(request_id: object, *, required: bool = False) -> str | None:
    if request_id is None and not required:
        return None
    if not isinstance(request_id, str) or not 0 < len(request_id) <= 200:
        raise InvalidInput("request_id must be a string of 1-200 characters")
    if not request_id.isprintable():
        raise InvalidInput("request_id must be printable")
    return request_id


def _decimal(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


class Payments:
    """Purchases, top-ups, buy-with-balance, callbacks, polling and reconciliation.

    ``clock`` returns aware UTC datetimes. ``publisher`` receives events after they are
    committed. ``new_order_id`` makes order ids (default ``ord_`` + 24 hex). ``fault_hook`` is for
    tests: it is called at named points inside transactions, and raising there simulates a crash.
    """

    def __init__(
        self,
        store: Store,
        ledger: Ledger,
        client: KryptoGOClient,
        catalog: Catalog,
        *,
        config: PaymentsConfig | None = None,
        clock: Clock | None = None,
        publisher: EventPublisher | None = None,
        new_order_id: Callable[[], str] | None = None,
        fault_hook: FaultHook | None = None,
    ) -> None:
        self.store = store
        self.ledger = ledger
        self.client = client
        self.catalog = catalog
        self.config = config or PaymentsConfig()
        self.publisher = publisher
        self._clock: Clock = clock or _utc_now
        self._new_order_id = new_order_id or (lambda: f"ord_{secrets.token_hex(12)}")
        self.fault_hook = fault_hook
        self._ready: set[str] = set()

    # ------------------------------------------------------------------ small helpers
    def now(self) -> datetime:
        """The service's clock (aware UTC)."""
        now = self._clock()
        if now.tzinfo is None:
            raise InvalidInput("the payments clock must return timezone-aware datetimes")
        return now.astimezone(UTC)

    def _hook(self, point: str) -> None:
        if self.fault_hook is not None:
            self.fault_hook(point)

    async def _read(self, fn: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        return await self.store.read(fn)

    @property
    def _secret(self) -> str | None:
        secret = self.config.callback_secret
        return None if secret is None else secret.get_secret_value()

    async def _ensure_account(self, account_id: str, *, system: bool, negative: bool) -> None:
        if account_id in self._ready:
            return
        kind = AccountKind.SYSTEM if system else AccountKind.PLAYER
        await self.ledger.open_account(account_id, kind=kind, allow_negative=negative)
        self._ready.add(account_id)

    async def _ensure_asset(self, asset: Any) -> None:
        key = f"asset={asset.id}"
        if key in self._ready:
            return
        await self.ledger.register_asset(asset)
        self._ready.add(key)

    async def _prepare_grant(self, sku: str | None) -> GrantSpec | None:
        """Register the granted asset and its issuer; return what a purchase of ``sku`` grants."""
        if sku is None:
            return None
        grant = self.catalog.get(sku).grant
        asset = grant.asset
        issuer = issuer_account(asset.id)
        await self._ensure_asset(asset)
        await self._ensure_account(issuer, system=True, negative=True)
        return GrantSpec(asset.id, grant.amount, issuer)

    def _grant_for(self, order: Order) -> GrantSpec | None:
        if order.kind is not OrderKind.PURCHASE or order.sku is None:
            return None
        grant = self.catalog.get(order.sku).grant
        return GrantSpec(grant.asset.id, grant.amount, issuer_account(grant.asset.id))

    # ------------------------------------------------------------------ reading
    async def order(self, order_id: str) -> Order:
        """The order ``order_id``; raises OrderNotFound."""
        if not isinstance(order_id, str) or not order_id:
            raise OrderNotFound("no such order")
        return await self._read(lambda conn: q.get_order(conn, order_id))

    async def orders_for(self, player_id: str) -> list[Order]:
        """Every order of a player, oldest first."""
        _check_player(player_id)
        return await self._read(lambda conn: q.orders_for_player(conn, player_id))

    async def events_after(self, player_id: str, last_id: int = 0, limit: int = 100) -> list[Event]:
        """A player's persisted events with ``id > last_id``, oldest first (for replay)."""
        if type(last_id) is not int or last_id < 0:
            raise InvalidInput("last_id must be a non-negative int")
        if type(limit) is not int or not 1 <= limit <= 1000:
            raise InvalidInput("limit must be an int in 1..1000")
        return await self._read(lambda conn: events_after(conn, player_id, last_id, limit))

    # ------------------------------------------------------------------ buying with crypto
    async def purchase(
        self, player_id: str, sku: str, *, request_id: str | None = None
    ) -> PaymentInstructions:
        """Start buying ``sku`` with crypto: write the order, create its intent, say how to pay.

        With ``request_id``, repeating the call returns the same order's instructions (and
        resolves an earlier unknown outcome first). Raises UnknownSku, InvalidInput, an APIError
        when the API refuses (the order is then ``failed``), or OutcomeUnknownError when it cannot
        learn whether the intent exists (the order stays ``creating``; repeat the call with the
        same ``request_id``, or let the poller resolve it).
        """
        _check_player(player_id)
        _check_request_id(request_id)
        item = self.catalog.get(sku)
        order = await self._open(
            player_id,
            OrderKind.PURCHASE,
            request_id,
            sku=item.sku,
            fiat_amount=item.price,
            fiat_currency=item.currency,
        )
        return await self._ensure_intent(order)

    async def top_up(
        self,
        player_id: str,
        fiat_amount: str,
        fiat_currency: FiatCurrency | str,
        *,
        request_id: str | None = None,
    ) -> PaymentInstructions:
        """Start a top-up worth ``fiat_amount``; on success the paid token goes to the player.

        Same contract as ``purchase`` (idempotent per ``request_id``, unknown outcomes resolved
        by lookup). Raises InvalidInput for a bad amount or currency.
        """
        _check_player(player_id)
        _check_request_id(request_id)
        try:
            fiat_amount = check_fiat_amount(fiat_amount)
            currency = FiatCurrency(fiat_currency)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        order = await self._open(
            player_id,
            OrderKind.TOP_UP,
            request_id,
            sku=None,
            fiat_amount=fiat_amount,
            fiat_currency=currency,
        )
        return await self._ensure_intent(order)

    async def _open(
        self,
        player_id: str,
        kind: OrderKind,
        request_id: str | None,
        *,
        sku: str | None,
        fiat_amount: str,
        fiat_currency: FiatCurrency,
    ) -> Order:
        """Write a ``creating`` order (or return the one ``request_id`` already made)."""
        if request_id is not None:
            existing = await self._read(
                lambda conn: q.find_order_by_request(conn, player_id, request_id)
            )
            if existing is not None:
                return self._same_request(existing, kind, sku, fiat_amount, fiat_currency)
        now = self.now()
        order_id = self._new_order_id()
        values = {
            "id": order_id,
            "player_id": player_id,
            "kind": str(kind),
            "status": str(OrderStatus.CREATING),
            "request_id": request_id,
            "sku": sku,
            "fiat_amount": fiat_amount,
            "fiat_currency": str(fiat_currency),
            "group_key": self.config.group_key,
            "next_poll_at": now + timedelta(seconds=self.config.poll_base),
            "created_at": now,
            "updated_at": now,
        }

        async def write(conn: AsyncConnection) -> Order:
            order = await q.insert_order(conn, values)
            if order is not None:
                return order
            assert request_id is not None  # only a taken request id skips the insert
            existing = await q.find_order_by_request(conn, player_id, request_id)
            assert existing is not None
            return self._same_request(existing, kind, sku, fiat_amount, fiat_currency)

        return await self.store.run(write)

    @staticmethod
    def _same_request(
        order: Order, kind: OrderKind, sku: str | None, fiat: str | None, currency: Any
    ) -> Order:
        same = order.kind is kind and order.sku == sku
        if kind is not OrderKind.BALANCE:
            same = same and _decimal(order.fiat_amount) == _decimal(fiat)
            same = same and order.fiat_currency == str(currency)
        if not same:
            raise InvalidInput(f"request_id was already used for another order ({order.id})")
        return order

    def _order_data(self, order: Order) -> dict[str, Any]:
        data: dict[str, Any] = {"order_id": order.id, "player_id": order.player_id}
        data["kind"] = str(order.kind)
        if order.sku is not None:
            data["sku"] = order.sku
        return data

    async def _ensure_intent(self, order: Order) -> PaymentInstructions:
        """Return the order's instructions, creating its intent only when no attempt can exist.

        Before every create after the first (ours or an earlier call's), the intent is looked
        up through its ``order_data``. A create attempt another caller made less than
        ``create_grace`` seconds ago may still be in flight: then this call does not create
        (it raises OutcomeUnknownError; repeat later), so an order never gets two intents.
        """
        tries = 0
        mine = 0  # create attempts this call made (their outcome is known to be over)
        while True:
            if order.payment_intent_id is not None:
                return PaymentInstructions.from_order(order)
            if order.status is OrderStatus.FAILED:
                raise PaymentError(f"order {order.id} failed: its intent could not be created")
            if order.status is not OrderStatus.CREATING:
                raise PaymentError(f"order {order.id} is {order.status}, not a crypto order")
            if order.create_attempts > 0:
                found = await self._lookup_intent(order)
                if found is not None:
                    order = await self._link(found, order, source="lookup")
                    continue
                theirs = order.create_attempts > mine
                age = (self.now() - order.updated_at).total_seconds()
                if theirs and age < self.config.create_grace:
                    break  # another caller's create may still be in flight
            if tries >= self.config.create_attempts:
                break
            tries += 1
            claimed = await self._claim_create_attempt(order)
            if not claimed:  # another caller claimed the next attempt first
                order = await self.order(order.id)
                continue
            mine += 1
            order = replace(order, create_attempts=order.create_attempts + 1)
            self._hook("create.before_api")
            try:
                intent = await self.client.create_intent(
                    fiat_amount=order.fiat_amount or "",
                    fiat_currency=order.fiat_currency or "",
                    callback_url=self.config.callback_url,
                    order_data=self._order_data(order),
                    group_key=order.group_key,
                )
            except (OutcomeUnknownError, TransportError, RateLimitError) as exc:
                log.warning(
                    "order %s: create_intent outcome unknown or not sent: %s", order.id, exc
                )
                order = await self.order(order.id)
                continue
            except APIError as exc:
                await self._fail(order, f"create_intent refused: {exc.message}")
                raise
            self._hook("create.after_api")
            order = await self._link(intent, order, source="create")
        raise OutcomeUnknownError(
            f"could not learn whether order {order.id}'s intent exists; repeat with the same "
            "request_id later, or let the poller resolve it",
            operation="create_intent",
            reference=order.id,
        )

    async def _link(self, intent: PaymentIntent, order: Order, *, source: str) -> Order:
        """Apply an intent found for or created by ``order``; return the order after it."""
        result = await self.apply(intent, source=source)
        updated = await self.order(order.id)
        if updated.payment_intent_id is None:
            raise PaymentError(
                f"order {order.id}: its intent {intent.payment_intent_id} was refused "
                f"({result.reason})"
            )
        return updated

    async def _claim_create_attempt(self, order: Order) -> bool:
        from sqlalchemy import update

        table = orders_table

        async def claim(conn: AsyncConnection) -> bool:
            result = await conn.execute(
                update(table)
                .where(
                    table.c.id == order.id,
                    table.c.create_attempts == order.create_attempts,
                    table.c.payment_intent_id.is_(None),
                )
                .values(create_attempts=order.create_attempts + 1, updated_at=self.now())
            )
            return bool(result.rowcount == 1)

        return await self.store.run(claim)

    async def _fail(self, order: Order, why: str) -> None:
        from sqlalchemy import update

        table = orders_table
        now = self.now()

        async def fail(conn: AsyncConnection) -> list[Event]:
            result = await conn.execute(
                update(table)
                .where(
                    table.c.id == order.id,
                    table.c.status == str(OrderStatus.CREATING),
                    table.c.payment_intent_id.is_(None),
                )
                .values(status=str(OrderStatus.FAILED), next_poll_at=None, updated_at=now)
            )
            if result.rowcount != 1:
                return []
            await q.log_status(
                conn,
                order_id=order.id,
                payment_intent_id=None,
                from_status=str(OrderStatus.CREATING),
                to_status=str(OrderStatus.FAILED),
                source="create",
                now=now,
                note=why,
            )
            return await record_events(conn, [self._status_event(order, "failed")], now)

        events = await self.store.run(fail)
        await publish_quietly(self.publisher, events)

    async def _lookup_intent(self, order: Order) -> PaymentIntent | None:
        """Find the intent whose ``order_data`` names ``order`` (list filtered by group key)."""
        after = int(order.created_at.timestamp()) - self.config.clock_skew
        found: PaymentIntent | None = None
        async for intent in self.client.list_intents(
            group_key=order.group_key, created_after=max(after, 0)
        ):
            if intent.order_id == order.id:
                if found is not None and found.payment_intent_id != intent.payment_intent_id:
                    log.error(
                        "order %s has two intents at the API: %s and %s",
                        order.id,
                        found.payment_intent_id,
                        intent.payment_intent_id,
                    )
                    continue
                found = intent
        return found

    # ------------------------------------------------------------------ buying with a balance
    async def buy_with_balance(self, player_id: str, sku: str, *, request_id: str) -> Order:
        """Buy ``sku`` with a balance the player holds: one atomic ledger batch.

        The price moves player -> revenue and the asset issuer -> player in one batch; with
        InsufficientFunds nothing at all is applied (no order either). Repeating ``request_id``
        returns the first order without charging again. Raises UnknownSku,
        BalancePriceMissing, InsufficientFunds, InvalidInput.
        """
        _check_player(player_id)
        _check_request_id(request_id, required=True)
        item = self.catalog.get(sku)
        if item.balance_price is None:
            raise BalancePriceMissing(f"{item.sku!r} cannot be bought with a balance")
        price = item.balance_price
        player = player_account(player_id)
        await self._ensure_account(player, system=False, negative=False)
        await self._ensure_account(self.config.revenue_account, system=True, negative=False)
        grant = await self._prepare_grant(item.sku)
        assert grant is not None
        now = self.now()
        order_id = self._new_order_id()

        async def buy(conn: AsyncConnection) -> tuple[Order, list[Event]]:
            order = await q.insert_order(
                conn,
                {
                    "id": order_id,
                    "player_id": player_id,
                    "kind": str(OrderKind.BALANCE),
                    "status": str(OrderStatus.COMPLETED),
                    "request_id": request_id,
                    "sku": item.sku,
                    "price_asset_id": price.asset_id,
                    "price_amount": price.amount,
                    "granted": True,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            if order is None:  # the request id was used: that order, not a second charge
                existing = await q.find_order_by_request(conn, player_id, request_id)
                assert existing is not None
                return self._same_request(existing, OrderKind.BALANCE, item.sku, None, None), []
            batch = await self.ledger.batch(
                f"buy:{order_id}",
                [
                    TransferSpec(
                        player,
                        self.config.revenue_account,
                        price.asset_id,
                        price.amount,
                        TransferKind.PURCHASE,
                        f"order {order_id} price",
                    ),
                    TransferSpec(
                        grant.issuer,
                        player,
                        grant.asset_id,
                        grant.amount,
                        TransferKind.GRANT,
                        f"order {order_id} grant",
                    ),
                ],
                conn=conn,
            )
            self._hook("buy.after_ledger")
            drafts = [self._status_event(order, str(OrderStatus.COMPLETED))]
            drafts.append(self._grant_event(order, grant))
            changes = ((price.asset_id, -price.amount), (grant.asset_id, grant.amount))
            for asset_id, delta in changes:
                after = batch.balances.get((player, asset_id))
                if after is None:  # price and grant in one asset netting to zero: read it
                    drafts.append(await self._balance_event(conn, order, asset_id, delta))
                else:
                    drafts.append(self._balance_drafted(order, asset_id, delta, after))
            return order, await record_events(conn, drafts, now)

        order, events = await self.store.run(buy)
        await publish_quietly(self.publisher, events)
        return order

    # ------------------------------------------------------------------ the one way in
    async def apply(self, intent: PaymentIntent, *, source: str = "api") -> ApplyResult:
        """Apply what the API says about an intent to its order: the ONLY way an order moves.

        Pass intents fetched from the API (never a callback body). Duplicates are no-ops; stale or
        illegal moves and intents that do not match their order are refused and recorded;
        intents naming no local order are recorded as unknown. The ledger postings, the order
        update, the status log and the outbox events commit in one transaction.
        """
        if not isinstance(intent, PaymentIntent):
            raise InvalidInput("apply takes a PaymentIntent fetched from the API")
        source = source[:32]
        order = await self._read(lambda conn: self._find_order(conn, intent, lock=False))
        if order is not None:
            if self._is_duplicate(order, intent):
                return ApplyResult(
                    ApplyOutcome.DUPLICATE,
                    intent.payment_intent_id,
                    order.id,
                    str(order.status),
                    str(order.status),
                )
            await self._prepare_ledger(order, intent)
        result = await self.store.run(lambda conn: self._apply_in(conn, intent, source))
        self._hook("apply.after_commit")
        await publish_quietly(self.publisher, result.events)
        return result

    async def _find_order(
        self, conn: AsyncConnection, intent: PaymentIntent, *, lock: bool
    ) -> Order | None:
        order = await q.find_order_by_intent(conn, intent.payment_intent_id, lock=lock)
        if order is not None:
            return order
        order_id = intent.order_id
        if order_id is None:
            return None
        try:
            return await q.get_order(conn, order_id, lock=lock)
        except OrderNotFound:
            return None

    def _is_duplicate(self, order: Order, intent: PaymentIntent) -> bool:
        """True when applying ``intent`` would change nothing at all (read without a lock)."""
        if order.payment_intent_id != intent.payment_intent_id:
            return False
        if str(order.status) != str(intent.status) or self._quote_problem(order, intent):
            return False
        if self._tracked(intent) != self._tracked_of(order):
            return False
        return not self._settlement(order, intent).postings

    async def _prepare_ledger(self, order: Order, intent: PaymentIntent) -> None:
        """Open the accounts and register the assets a settlement of this order may touch."""
        try:
            token = Token(
                intent.payment_chain_id, intent.token_address, intent.symbol, intent.decimals
            )
        except AssetError:
            return  # refused inside the transaction (the intent does not match the order)
        await self._ensure_asset(token)
        await self._ensure_account(world_account(token.chain_id), system=True, negative=True)
        await self._ensure_account(player_account(order.player_id), system=False, negative=False)
        await self._ensure_account(self.config.revenue_account, system=True, negative=False)
        if order.kind is OrderKind.PURCHASE:
            await self._prepare_grant(order.sku)

    @staticmethod
    def _tracked(intent: PaymentIntent) -> dict[str, Any]:
        return {
            "received_amount": intent.received_amount,
            "aggregated_amount": intent.aggregated_amount,
            "refund_amount": intent.refund_amount,
            "refund_tx_hash": intent.refund_tx_hash,
            "payment_tx_hash": intent.payment_tx_hash,
        }

    @staticmethod
    def _tracked_of(order: Order) -> dict[str, Any]:
        return {
            "received_amount": order.received_amount,
            "aggregated_amount": order.aggregated_amount,
            "refund_amount": order.refund_amount,
            "refund_tx_hash": order.refund_tx_hash,
            "payment_tx_hash": order.payment_tx_hash,
        }

    @staticmethod
    def _quote_problem(order: Order, intent: PaymentIntent) -> str | None:
        """Why ``intent`` does not match the quote the order recorded, or None."""
        problems = []
        if order.chain_id != intent.payment_chain_id:
            problems.append("chain")
        if (order.token_address or "").lower() != intent.token_address.lower():
            problems.append("token")
        if order.decimals != intent.decimals:
            problems.append("decimals")
        if order.crypto_amount != intent.crypto_amount:
            problems.append("crypto_amount")
        if order.payment_address != intent.payment_address:
            problems.append("address")
        return ", ".join(problems) or None

    @staticmethod
    def _attach_problem(order: Order, intent: PaymentIntent) -> str | None:
        """Why ``intent`` cannot be the intent of the unlinked ``order``, or None."""
        if order.status not in (OrderStatus.CREATING, OrderStatus.FAILED):
            return f"order is {order.status}"
        if intent.order_id != order.id:
            return "order_data does not name this order"
        if order.fiat_currency != str(intent.fiat_currency):
            return "fiat currency differs"
        if _decimal(order.fiat_amount) != _decimal(intent.fiat_amount):
            return "fiat amount differs"
        try:
            Token(intent.payment_chain_id, intent.token_address, intent.symbol, intent.decimals)
        except AssetError as exc:
            return f"unusable token: {exc.message}"
        return None

    def _settlement(self, order: Order, intent: PaymentIntent) -> Any:
        return settle(
            order_id=order.id,
            player=player_account(order.player_id),
            purchase=order.kind is OrderKind.PURCHASE,
            status=intent.status,
            chain_id=intent.payment_chain_id,
            token_asset_id=Token(
                intent.payment_chain_id, intent.token_address, intent.symbol, intent.decimals
            ).id,
            quote=intent.crypto_amount,
            total=paid_total(intent),
            settled=order.settled_amount,
            granted=order.granted,
            grant=self._grant_for(order),
            revenue=self.config.revenue_account,
            excess_policy=self.config.excess_policy,
            late_policy=self.config.late_policy,
        )

    async def _refuse(
        self,
        conn: AsyncConnection,
        order: Order,
        intent: PaymentIntent,
        reason: str,
        source: str,
        now: datetime,
        detail: str | None = None,
    ) -> ApplyResult:
        await q.log_refused(
            conn,
            order_id=order.id,
            payment_intent_id=intent.payment_intent_id,
            from_status=str(order.status),
            to_status=str(intent.status),
            reason=reason,
            source=source,
            now=now,
            detail=detail,
        )
        log.warning(
            "order %s: refused %s -> %s from %s (%s%s)",
            order.id,
            order.status,
            intent.status,
            source,
            reason,
            f": {detail}" if detail else "",
        )
        return ApplyResult(
            ApplyOutcome.REFUSED,
            intent.payment_intent_id,
            order.id,
            str(order.status),
            str(order.status),
            reason=reason,
        )

    def _next_poll(self, order: Order, status: PaymentStatus, now: datetime) -> datetime | None:
        if status is PaymentStatus.PENDING:
            return order.next_poll_at or now + timedelta(seconds=self.config.poll_base)
        if status is PaymentStatus.INSUFFICIENT_NOT_REFUNDED:
            return now + timedelta(seconds=self.config.poll_cap)
        return None

    async def _apply_in(
        self, conn: AsyncConnection, intent: PaymentIntent, source: str
    ) -> ApplyResult:
        """The body of ``apply``: runs inside one transaction, the order row locked."""
        now = self.now()
        order = await self._find_order(conn, intent, lock=True)
        if order is None:
            await q.log_unknown(
                conn,
                payment_intent_id=intent.payment_intent_id,
                source=source,
                reason="no_local_order",
                now=now,
                body=intent.model_dump_json(),
            )
            log.warning("intent %s names no local order (%s)", intent.payment_intent_id, source)
            return ApplyResult(
                ApplyOutcome.UNKNOWN, intent.payment_intent_id, reason="no_local_order"
            )
        before = str(order.status)
        attached = False
        if order.payment_intent_id is None:
            problem = self._attach_problem(order, intent)
            if problem is not None:
                return await self._refuse(conn, order, intent, "cannot_link", source, now, problem)
            first_poll = now + timedelta(seconds=self.config.poll_base)
            link = {
                "payment_intent_id": intent.payment_intent_id,
                "chain_id": intent.payment_chain_id,
                "token_address": intent.token_address,
                "symbol": intent.symbol,
                "decimals": intent.decimals,
                "crypto_amount": intent.crypto_amount,
                "payment_address": intent.payment_address,
                "payment_deadline": intent.payment_deadline,
                "status": str(OrderStatus.PENDING),
                "poll_attempts": 0,
                "next_poll_at": first_poll,
                "updated_at": now,
            }
            await q.update_order(conn, order.id, link)
            await q.log_status(
                conn,
                order_id=order.id,
                payment_intent_id=intent.payment_intent_id,
                from_status=before,
                to_status=str(OrderStatus.PENDING),
                source=source,
                now=now,
                note="linked to its intent",
            )
            order = replace(
                order,
                payment_intent_id=intent.payment_intent_id,
                chain_id=intent.payment_chain_id,
                token_address=intent.token_address,
                symbol=intent.symbol,
                decimals=intent.decimals,
                crypto_amount=intent.crypto_amount,
                payment_address=intent.payment_address,
                payment_deadline=intent.payment_deadline,
                status=OrderStatus.PENDING,
                poll_attempts=0,
                next_poll_at=first_poll,
            )
            attached = True
        elif order.payment_intent_id != intent.payment_intent_id:
            return await self._refuse(
                conn,
                order,
                intent,
                "other_intent",
                source,
                now,
                f"order is linked to {order.payment_intent_id}",
            )
        else:
            problem = self._quote_problem(order, intent)
            if problem is not None:
                return await self._refuse(
                    conn, order, intent, "intent_mismatch", source, now, problem
                )
        current = PaymentStatus(str(order.status))
        path = steps(current, intent.status)
        if path is None:
            stale = steps(intent.status, current) is not None
            return await self._refuse(
                conn, order, intent, "stale" if stale else "illegal", source, now
            )
        if PaymentStatus.SUCCESS in path and not covers_quote(intent, intent.crypto_amount):
            return await self._refuse(
                conn,
                order,
                intent,
                "amount_short",
                source,
                now,
                f"success reports {paid_total(intent)} < quote {intent.crypto_amount}",
            )
        settlement = self._settlement(order, intent)
        tracked = self._tracked(intent)
        changed = bool(path) or bool(settlement.postings) or attached
        changed = changed or tracked != self._tracked_of(order)
        if not changed:
            return ApplyResult(
                ApplyOutcome.DUPLICATE, intent.payment_intent_id, order.id, before, before
            )
        for posting in settlement.postings:
            await self.ledger.batch(posting.batch_id, list(posting.transfers), conn=conn)
        self._hook("apply.after_ledger")
        values: dict[str, Any] = dict(tracked)
        values.update(
            status=str(intent.status),
            settled_amount=settlement.settled_amount,
            granted=settlement.granted,
            next_poll_at=self._next_poll(order, intent.status, now),
            updated_at=now,
        )
        await q.update_order(conn, order.id, values)
        self._hook("apply.after_order_update")
        previous = current
        for status in path:
            await q.log_status(
                conn,
                order_id=order.id,
                payment_intent_id=intent.payment_intent_id,
                from_status=str(previous),
                to_status=str(status),
                source=source,
                now=now,
            )
            previous = status
        if settlement.postings and not path:
            await q.log_status(
                conn,
                order_id=order.id,
                payment_intent_id=intent.payment_intent_id,
                from_status=str(intent.status),
                to_status=str(intent.status),
                source=source,
                now=now,
                note="settled " + ", ".join(p.batch_id for p in settlement.postings),
            )
        drafts: list[EventDraft] = []
        if path or attached:
            drafts.append(self._status_event(order, str(intent.status), before))
        if settlement.granted_now is not None:
            drafts.append(self._grant_event(order, settlement.granted_now))
            drafts.append(
                await self._balance_event(
                    conn, order, settlement.granted_now.asset_id, settlement.granted_now.amount
                )
            )
        token_id = order.token_asset_id
        if settlement.credited and token_id is not None:
            drafts.append(await self._balance_event(conn, order, token_id, settlement.credited))
        events = await record_events(conn, drafts, now)
        self._hook("apply.after_events")
        outcome = ApplyOutcome.APPLIED if (path or attached) else ApplyOutcome.SETTLED
        if not path and not attached and not settlement.postings:
            outcome = ApplyOutcome.SETTLED  # only tracked fields (refund data, tx hash) changed
        return ApplyResult(
            outcome,
            intent.payment_intent_id,
            order.id,
            before,
            str(intent.status),
            granted=settlement.granted and not order.granted,
            credited=settlement.credited,
            events=tuple(events),
        )

    # ------------------------------------------------------------------ events
    @staticmethod
    def _status_event(order: Order, status: str, previous: str | None = None) -> EventDraft:
        return EventDraft(
            order.player_id,
            EventType.ORDER_STATUS_CHANGED,
            {
                "order_id": order.id,
                "kind": str(order.kind),
                "sku": order.sku,
                "status": status,
                "previous": previous if previous is not None else str(order.status),
                "payment_intent_id": order.payment_intent_id,
            },
        )

    @staticmethod
    def _grant_event(order: Order, grant: GrantSpec) -> EventDraft:
        return EventDraft(
            order.player_id,
            EventType.ASSET_GRANTED,
            {
                "order_id": order.id,
                "sku": order.sku,
                "asset_id": grant.asset_id,
                "amount": str(grant.amount),
            },
        )

    async def _balance_event(
        self, conn: AsyncConnection, order: Order, asset_id: str, delta: int
    ) -> EventDraft:
        balance = await self.ledger.balance(player_account(order.player_id), asset_id, conn=conn)
        return self._balance_drafted(order, asset_id, delta, balance)

    @staticmethod
    def _balance_drafted(order: Order, asset_id: str, delta: int, balance: Balance) -> EventDraft:
        return EventDraft(
            order.player_id,
            EventType.BALANCE_CHANGED,
            {
                "order_id": order.id,
                "asset_id": asset_id,
                "delta": str(delta),
                "available": str(balance.available),
                "held": str(balance.held),
            },
        )

    # ------------------------------------------------------------------ callbacks
    async def handle_callback(
        self, body: bytes, headers: Mapping[str, str] | None = None
    ) -> CallbackResponse:
        """Handle one KryptoGO callback: raw body + headers in, status + JSON body out.

        400 malformed; 401 bad signature or timestamp (when a secret is configured); 200 once the
        intent FETCHED FROM THE API was applied (or recorded as unknown, or the signed body was
        already processed); 503 when the API cannot be reached (KryptoGO retries); 500 when
        applying failed (nothing was half-applied; KryptoGO retries). See
        ``gamepay.payments.callbacks``.
        """
        return await handle_callback(self, body, headers or {})

    @property
    def callback_secret(self) -> str | None:
        """The configured callback signing secret (None: callbacks are not signed)."""
        return self._secret

    async def _record_unknown(
        self, intent_id: str, source: str, reason: str, body: bytes | str | None = None
    ) -> None:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        now = self.now()
        await self.store.run(
            lambda conn: q.log_unknown(
                conn, payment_intent_id=intent_id, source=source, reason=reason, now=now, body=text
            )
        )
        log.warning("intent %s unknown (%s, %s)", intent_id, source, reason)

    # ------------------------------------------------------------------ polling, reconciling
    async def poll_due(self, *, limit: int | None = None) -> PollReport:
        """Poll every order due for a poll (see ``gamepay.payments.poller``)."""
        from gamepay.payments.poller import poll_due

        return await poll_due(self, limit=limit)

    async def reconcile(self, since: datetime | int, until: datetime | int) -> ReconcileReport:
        """Compare the API's intents of [since, until) with our orders; repair through apply."""
        from gamepay.payments.reconcile import reconcile

        return await reconcile(self, since, until)

    # hooks for the poller and reconciler
    async def lookup_intent(self, order: Order) -> PaymentIntent | None:
        """The intent whose ``order_data`` names ``order``, found through ``list_intents``."""
        return await self._lookup_intent(order)

    async def fail_order(self, order: Order, why: str) -> None:
        """Mark a ``creating`` order whose intent never appeared as ``failed``."""
        await self._fail(order, why)

    async def record_unknown(
        self, intent_id: str, source: str, reason: str, body: bytes | str | None = None
    ) -> None:
        """Record an intent id that names nothing known (here or at the API)."""
        await self._record_unknown(intent_id, source, reason, body)

    async def run_read(self, fn: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run a read in a transaction of the store (for the poller and reconciler)."""
        return await self._read(fn)

    @staticmethod
    def polled_statuses() -> Sequence[OrderStatus]:
        """Order statuses the poller looks at."""
        return _POLLED
