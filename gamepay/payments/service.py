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

- **Orders first** (``gamepay.payments.create``). The local order is written (``creating``)
  before the intent is created, and the intent's ``order_data`` carries ``{"order_id": ...}``;
  a create whose outcome is unknown is resolved by looking the intent up before any retry.
- **One way in** (``gamepay.payments.apply``). ``apply(intent)`` is the only function that
  moves an order: the pure ``gamepay.payments.decide`` (over the transition table in
  ``gamepay.core.intents``) says what the intent means; the postings, the order update, the log
  and the outbox events commit in ONE transaction under a row lock on the order.
- **Never trust a callback.** ``handle_callback`` fetches the intent back from the API and applies
  that (see ``gamepay.payments.callbacks``).

``Payments`` is a thin facade: each method hands its ``PaymentsContext`` to the module that does
the work (``create``, ``apply``, ``callbacks``, ``poller``, ``reconcile``).

Policies (``PaymentsConfig``): an overpayment is credited to the player's token balance
(``excess_policy="credit"``, or ``"revenue"``); a payment landing on an expired intent is credited
to the player's token balance (``late_policy="credit"``, or ``"revenue"``); an insufficient
payment grants nothing and the order tracks KryptoGO's refund.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from gamepay.bus.outbox import events_after
from gamepay.core.events import Event, EventPublisher
from gamepay.errors import InvalidInput
from gamepay.kryptogo.models import FiatCurrency, PaymentIntent
from gamepay.payments import apply as applying
from gamepay.payments import create
from gamepay.payments import repository as q
from gamepay.payments.callbacks import CallbackResponse, handle_callback
from gamepay.payments.config import PaymentsConfig
from gamepay.payments.context import Clock, FaultHook, PaymentsContext
from gamepay.payments.poller import PollReport, poll_due
from gamepay.payments.reconcile import (
    ReconcileReport,
    StuckReport,
    close_stuck,
    reconcile,
    reconcile_order,
)
from gamepay.payments.records import ApplyResult, Order, PaymentInstructions
from gamepay.payments.subscriptions import Subscriptions

if TYPE_CHECKING:
    from gamepay.kryptogo.client import KryptoGOClient
    from gamepay.ledger import Ledger
    from gamepay.payments.catalog import Catalog
    from gamepay.store import Store

__all__ = ["Payments"]


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
        self.context = PaymentsContext(
            store, ledger, client, catalog, config or PaymentsConfig(), publisher=publisher
        )
        if clock is not None:
            self.context.clock = clock
        if new_order_id is not None:
            self.context.new_order_id = new_order_id
        self.context.fault_hook = fault_hook

    @property
    def store(self) -> Store:
        """The store orders are kept in."""
        return self.context.store

    @property
    def ledger(self) -> Ledger:
        """The ledger payments post to."""
        return self.context.ledger

    @property
    def client(self) -> KryptoGOClient:
        """The KryptoGO client."""
        return self.context.client

    @property
    def catalog(self) -> Catalog:
        """What players can buy."""
        return self.context.catalog

    @property
    def subscriptions(self) -> Subscriptions:
        """Crypto subscriptions: renewals (one intent per period) and renewal offers."""
        return Subscriptions(self.context)

    async def check_catalog(self) -> None:
        """Check the catalog against the ledger's registered assets (``gamepay serve`` does at
        start-up); raises CatalogError with one line per problem."""
        from gamepay.payments.catalog import CatalogError, asset_problems

        catalog = self.context.catalog
        wanted = {part.asset.id for item in catalog for part in item.parts}
        wanted |= {item.balance_price.asset_id for item in catalog if item.balance_price}
        assets = await self.context.ledger.get_assets(sorted(wanted))
        problems = asset_problems(catalog, assets)
        if problems:
            raise CatalogError(problems)

    @property
    def config(self) -> PaymentsConfig:
        """The configuration."""
        return self.context.config

    @property
    def publisher(self) -> EventPublisher | None:
        """Who receives committed events."""
        return self.context.publisher

    @property
    def fault_hook(self) -> FaultHook | None:
        """The test fault hook (None: none)."""
        return self.context.fault_hook

    @fault_hook.setter
    def fault_hook(self, hook: FaultHook | None) -> None:
        self.context.fault_hook = hook

    # ------------------------------------------------------------------ reading
    async def order(self, order_id: str) -> Order:
        """The order ``order_id``; raises OrderNotFound."""
        return await create.get_order(self.context, order_id)

    async def orders_for(self, player_id: str) -> list[Order]:
        """Every order of a player, oldest first."""
        create.check_player(player_id)
        return await self.store.read(lambda conn: q.orders_for_player(conn, player_id))

    async def events_after(self, player_id: str, last_id: int = 0, limit: int = 100) -> list[Event]:
        """A player's persisted events with ``id > last_id``, oldest first (for replay)."""
        if type(last_id) is not int or last_id < 0:
            raise InvalidInput("last_id must be a non-negative int")
        if type(limit) is not int or not 1 <= limit <= 1000:
            raise InvalidInput("limit must be an int in 1..1000")
        return await self.store.read(lambda conn: events_after(conn, player_id, last_id, limit))

    # ------------------------------------------------------------------ buying
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
        return await create.purchase(self.context, player_id, sku, request_id)

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
        return await create.top_up(self.context, player_id, fiat_amount, fiat_currency, request_id)

    async def buy_with_balance(self, player_id: str, sku: str, *, request_id: str) -> Order:
        """Buy ``sku`` with a balance the player holds: one atomic ledger batch.

        The price moves player -> revenue and the asset issuer -> player in one batch; with
        InsufficientFunds nothing at all is applied (no order either). Repeating ``request_id``
        returns the first order without charging again. Raises UnknownSku,
        BalancePriceMissing, InsufficientFunds, InvalidInput.
        """
        return await create.buy_with_balance(self.context, player_id, sku, request_id)

    # ------------------------------------------------------------------ the one way in
    async def apply(self, intent: PaymentIntent, *, source: str = "api") -> ApplyResult:
        """Apply what the API says about an intent to its order: the ONLY way an order moves.

        Pass intents fetched from the API (never a callback body). Duplicates are no-ops; stale or
        illegal moves and intents that do not match their order are refused and recorded;
        intents naming no local order are recorded as unknown. The ledger postings, the order
        update, the status log and the outbox events commit in one transaction.
        """
        return await applying.apply(self.context, intent, source)

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
        return await handle_callback(self.context, body, headers or {})

    # ------------------------------------------------------------------ polling, reconciling
    async def poll_due(self, *, limit: int | None = None) -> PollReport:
        """Poll every order due for a poll (see ``gamepay.payments.poller``)."""
        return await poll_due(self.context, limit=limit)

    async def reconcile(self, since: datetime | int, until: datetime | int) -> ReconcileReport:
        """Compare the API's intents of [since, until) with our orders; repair through apply."""
        return await reconcile(self.context, since, until)

    async def reconcile_order(self, order_id: str) -> ReconcileReport:
        """Reconcile one order with the API now (what the console's button does); raises
        ``OrderNotFound``."""
        return await reconcile_order(self.context, order_id)

    async def close_stuck(self, *, dry_run: bool = False, limit: int = 1000) -> StuckReport:
        """Resolve orders stuck in ``creating``: link each one's intent if it exists, else close
        it once it is past ``creating_timeout`` (see ``gamepay.payments.reconcile``)."""
        return await close_stuck(self.context, dry_run=dry_run, limit=limit)
