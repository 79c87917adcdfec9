"""``Economy``: the one public entry point that wires a whole gamepay economy, bus given once.

From ``Settings`` (every ``GAMEPAY_*`` variable), owning everything it opens::

    economy = Economy.from_settings(catalog=catalog, assets=[GOLD])   # load_settings()
    app = Starlette(routes=economy.routes, lifespan=economy.lifespan)  # /ws, callback, /healthz

    async with economy:                  # or let the app's lifespan start and stop it
        await economy.payments.buy_with_balance("alice", "sword", request_id="r-1")

Or from objects the game already has (``store`` and ``client`` stay the caller's to close)::

    economy = Economy.from_parts(store=store, client=client, catalog=catalog, token_secret=s)

What it builds, in order: the store (connected and migrated, from settings), the ledger, the
KryptoGO client (from settings), ONE event bus (``GAMEPAY_BUS_URL``'s, else ``PostgresBus`` on
PostgreSQL and ``InProcessBus`` on SQLite, or the one given), ``Payments`` and ``Withdrawals``
publishing to that bus, a ``RewardRunner`` per program, and the websocket adapter subscribed to the
same bus, so an item granted by a callback is always pushed to the player. Entering it (``async with
economy``) registers ``assets``, prepares the withdrawal tokens, checks the catalog against the
ledger, starts the bus and the adapter, the payments poller (repairs missed callbacks) and, if
asked, a rewards loop; leaving it stops all of that in reverse order.

``routes`` are Starlette routes to mount in the game's own app, on its one port: the players'
websocket at ``/ws``, ``POST /kryptogo/callback``, ``GET /healthz`` (and ``GET /metrics`` with
``metrics=``). ``websocket_endpoint`` is the websocket alone (an ASGI app), ``websocket_handler``
serves a python-websockets connection, and ``serve_websocket(host, port)`` a port of its own.
Layer: above ``gamepay_ws`` and ``gamepay.config``, below ``gamepay.testing``, the demo and the
CLI (``gamepay serve`` runs one ``Economy``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from types import TracebackType

from pydantic import SecretStr
from starlette.routing import BaseRoute, Route, WebSocketRoute
from websockets.asyncio.server import Server, serve

from gamepay.bus import EventBus, ManagedBus
from gamepay.config import Settings, TokenSigning, load_settings
from gamepay.core.accounts import AccountKind, issuer_account, player_account
from gamepay.core.assets import Currency, Item, Token
from gamepay.core.transfers import TransferKind, TransferSpec
from gamepay.economy.parts import (
    Parts,
    build,
    catalog_of,
    check_assets,
    default_bus,
    owned_bus,
    secret_text,
    withdrawals_config,
)
from gamepay.errors import ConfigError, InvalidInput
from gamepay.inventory import Inventory, Trades
from gamepay.kryptogo.client import KryptoGOClient
from gamepay.ledger import Ledger, TransferRecord
from gamepay.metrics import InstrumentedCallbacks, Metrics, metrics_endpoint
from gamepay.observability import log_context
from gamepay.payments import Payments, PaymentsConfig
from gamepay.payments.callbacks import CallbackResponse
from gamepay.payments.catalog import Catalog
from gamepay.rewards import Program, RewardRunner
from gamepay.store import Store
from gamepay.withdrawals import Withdrawals, WithdrawalsConfig
from gamepay_ws import (
    CALLBACK_PATH,
    AdapterConfig,
    Authenticator,
    Socket,
    WebsocketAdapter,
    WebsocketEndpoint,
    callback_routes,
    issue_token,
)

__all__ = ["WEBSOCKET_PATH", "Economy"]

log = logging.getLogger("gamepay.economy")

WEBSOCKET_PATH = "/ws"
"""Where ``Economy.routes`` serve the players' websocket."""

Lifespan = Callable[[object], AbstractAsyncContextManager[None]]
"""A Starlette ``lifespan``: called with the app, entered while the app serves."""


async def _every(interval: float, what: str, work: Callable[[], Awaitable[object]]) -> None:
    """Run ``work`` every ``interval`` seconds until cancelled; failures are logged, not raised."""
    while True:
        await asyncio.sleep(interval)
        try:
            with log_context(request_id=f"{what}-{secrets.token_hex(6)}"):
                await work()
        except Exception:
            log.exception("%s failed; trying again in %.0fs", what, interval)


class _Callbacks:
    """The callback endpoint's handler: the economy's ``Payments`` once it is running."""

    def __init__(self, economy: Economy) -> None:
        self._economy = economy

    async def handle_callback(self, body: bytes, headers: Mapping[str, str]) -> CallbackResponse:
        """Check and apply one callback (``Payments.handle_callback``)."""
        return await self._economy.payments.handle_callback(body, headers)


class Economy:
    """A whole gamepay economy: store, ledger, client, ONE bus, services, rewards, adapter.

    Build it with :meth:`from_settings` or :meth:`from_parts`; run it with ``async with`` (or
    ``lifespan``). Its parts are properties; an economy built from settings has them only while
    it runs (before that they raise ``ConfigError``). ``routes`` and ``websocket_handler`` may be
    handed to a web server before it starts: they reach the parts when a request comes.
    """

    def __init__(
        self,
        open_parts: Callable[[AsyncExitStack], Awaitable[Parts]] | None,
        parts: Parts | None,
        *,
        metrics: Metrics | None,
        poll_interval: float | None,
        reward_interval: float | None,
        owned_bus: ManagedBus | None,
    ) -> None:
        """Use :meth:`from_settings` or :meth:`from_parts`."""
        for name, value in (("poll_interval", poll_interval), ("reward_interval", reward_interval)):
            if value is not None and not value > 0:
                raise ConfigError(f"{name} must be positive seconds (or None)")
        self._open_parts = open_parts
        self._parts = parts
        self._metrics = metrics
        self._poll_interval = poll_interval
        self._reward_interval = reward_interval
        self._owned_bus = owned_bus
        self._stack: AsyncExitStack | None = None
        # Mountable before the economy runs: it refuses connections (1013) until then.
        self._endpoint = WebsocketEndpoint(handler=self._serve_socket)

    # ------------------------------------------------------------------ building
    @classmethod
    def from_settings(
        cls,
        settings: Settings | None = None,
        catalog: Catalog | None = None,
        *,
        assets: Sequence[Currency | Item] = (),
        callback_url: str | None = None,
        tokens: Sequence[Token] | None = None,
        programs: Sequence[Program] = (),
        metrics: Metrics | None = None,
        adapter_config: AdapterConfig | None = None,
        poll_interval: float | None = 5.0,
        reward_interval: float | None = None,
        migrate: bool = True,
    ) -> Economy:
        """An economy configured by ``settings``; it opens (and closes) everything itself.

        ``settings`` defaults to ``load_settings()`` (the ``GAMEPAY_*`` variables and ``.env``).
        ``catalog`` defaults to ``GAMEPAY_CATALOG_FILE`` (or an empty catalog); ``assets`` are
        the in-game currencies and items to register on start (those catalog prices are in).
        ``callback_url`` (default ``GAMEPAY_CALLBACK_PUBLIC_URL``) is where KryptoGO posts
        status updates; unset, the poller alone learns payments. ``tokens`` overrides
        ``GAMEPAY_WITHDRAWAL_TOKENS``. ``metrics`` instruments the client, the bus, callbacks
        and websockets, and adds ``/metrics`` to ``routes``. ``migrate`` upgrades the schema
        on start. Nothing is opened until the economy is entered.

        Unsafe settings (``Settings.problems()``: a demo or short token secret, sandbox
        credentials at a real KryptoGO host, ...) raise ``UnsafeSettings`` (a ``ConfigError``)
        listing them, by the rule ``gamepay serve`` applies (``Settings.vet``); with
        ``GAMEPAY_ENV=dev`` they are logged warnings (not again for settings ``serve`` vetted).
        """
        check_assets(assets)
        conf = settings if settings is not None else load_settings()
        for line in conf.vet():  # UnsafeSettings outside dev; warnings not yet shown, in dev
            log.warning("unsafe setting allowed by GAMEPAY_ENV=dev: %s", line)
        signing = conf.ws_token_signing()  # ConfigError now, before any I/O
        chosen = catalog if catalog is not None else catalog_of(conf)
        config = withdrawals_config(conf, tokens)
        url = callback_url if callback_url is not None else conf.callback_public_url

        async def open_parts(stack: AsyncExitStack) -> Parts:
            store = await Store.connect(conf.database_url)
            stack.push_async_callback(store.close)
            if migrate:
                await store.migrate()
            client = KryptoGOClient(
                client_id=conf.kryptogo_client_id,
                api_key=conf.kryptogo_api_key.get_secret_value(),
                origin=conf.kryptogo_origin,
                base_url=conf.kryptogo_base_url,
                timeout=conf.kryptogo_timeout_s,
                event_hooks=None if metrics is None else metrics.httpx_event_hooks(),
                on_response=None if metrics is None else metrics.on_client_response,
            )
            stack.push_async_callback(client.aclose)
            bus = await owned_bus(
                stack, store, database_url=conf.database_url, bus_url=conf.bus_url
            )
            return build(
                store=store,
                client=client,
                catalog=chosen,
                ledger=None,
                bus=bus,
                payments_config=PaymentsConfig(
                    callback_url=url,
                    callback_secret=conf.callback_secret,
                    creating_timeout=conf.creating_timeout_s,
                ),
                withdrawals=config,
                programs=programs,
                signing=signing,
                authenticator=None,
                metrics=metrics,
                adapter_config=adapter_config,
                assets=assets,
            )

        return cls(
            open_parts,
            None,
            metrics=metrics,
            poll_interval=poll_interval,
            reward_interval=reward_interval,
            owned_bus=None,
        )

    @classmethod
    def from_parts(
        cls,
        *,
        store: Store,
        client: KryptoGOClient,
        catalog: Catalog | None = None,
        assets: Sequence[Currency | Item] = (),
        token_secret: str | SecretStr | None = None,
        authenticator: Authenticator | None = None,
        ledger: Ledger | None = None,
        bus: EventBus | None = None,
        payments_config: PaymentsConfig | None = None,
        withdrawals: WithdrawalsConfig | None = None,
        programs: Sequence[Program] = (),
        metrics: Metrics | None = None,
        adapter_config: AdapterConfig | None = None,
        poll_interval: float | None = 5.0,
        reward_interval: float | None = None,
    ) -> Economy:
        """An economy over objects the caller owns (a migrated ``store``, a ``client``).

        Players authenticate with tokens signed by ``token_secret`` (see :meth:`issue_token`)
        or through ``authenticator``. ``bus`` is the ONE event bus (services publish to it, the
        adapter listens); by default an ``InProcessBus`` on SQLite and, on PostgreSQL, a
        ``PostgresBus`` on the store's database, which the economy starts and stops.
        ``withdrawals`` names the withdrawable tokens (none by default); ``assets`` are the
        in-game currencies and items to register on start. The parts exist at
        once; entering the economy starts the bus, the adapter and the pollers. Closing the
        ``store`` and the ``client`` stays the caller's job.
        """
        check_assets(assets)
        owned: ManagedBus | None = None
        if bus is None:
            url = store.engine.url.render_as_string(hide_password=False)
            bus = owned = default_bus(store, database_url=url)
        parts = build(
            store=store,
            client=client,
            catalog=catalog if catalog is not None else Catalog(),
            ledger=ledger,
            bus=bus,
            payments_config=payments_config,
            withdrawals=withdrawals,
            programs=programs,
            signing=None if not token_secret else TokenSigning(secret_text(token_secret) or ""),
            authenticator=authenticator,
            metrics=metrics,
            adapter_config=adapter_config,
            assets=assets,
        )
        return cls(
            None,
            parts,
            metrics=metrics,
            poll_interval=poll_interval,
            reward_interval=reward_interval,
            owned_bus=owned,
        )

    # ------------------------------------------------------------------ running
    @property
    def running(self) -> bool:
        """True between entering and leaving the economy."""
        return self._stack is not None

    async def __aenter__(self) -> Economy:
        """Open what it owns, then start the bus, the adapter and the pollers."""
        if self._stack is not None:
            raise ConfigError("this Economy is already running")
        async with AsyncExitStack() as stack:
            if self._open_parts is not None:
                self._parts = await self._open_parts(stack)
                stack.callback(self._forget_parts)
            parts = self._require()
            if self._owned_bus is not None:
                await self._owned_bus.start()
                stack.push_async_callback(self._owned_bus.close)
            for asset in parts.assets:
                await parts.ledger.register_asset(asset)
            await parts.withdrawals.prepare()
            # After the tokens and assets are registered: every price must be in a known asset.
            await parts.payments.check_catalog()
            parts.adapter.start()
            stack.callback(parts.adapter.stop)
            self._endpoint.adapter = parts.adapter
            stack.callback(setattr, self._endpoint, "adapter", None)
            if self._poll_interval is not None:
                _background(stack, _every(self._poll_interval, "poll", parts.payments.poll_due))
                _background(
                    stack, _every(self._poll_interval, "trade expiry", parts.trades.expire_due)
                )
            if self._reward_interval is not None and parts.rewards:
                _background(stack, _every(self._reward_interval, "rewards", self._run_rewards))
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the pollers, the adapter and the bus; close what it opened."""
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()

    @asynccontextmanager
    async def _lifespan(self, app: object) -> AsyncIterator[None]:
        async with self:
            yield

    @property
    def lifespan(self) -> Lifespan:
        """A Starlette/FastAPI ``lifespan`` that runs this economy while the app serves."""
        return self._lifespan

    def _forget_parts(self) -> None:
        self._parts = None

    async def _run_rewards(self) -> None:
        for runner in self._require().rewards.values():
            await runner.run_due()

    def _require(self) -> Parts:
        if self._parts is None:
            raise ConfigError("the Economy is not running: use `async with economy:` first")
        return self._parts

    # ------------------------------------------------------------------ the parts
    @property
    def store(self) -> Store:
        """The database."""
        return self._require().store

    @property
    def ledger(self) -> Ledger:
        """The double-entry ledger."""
        return self._require().ledger

    @property
    def client(self) -> KryptoGOClient:
        """The KryptoGO Studio client."""
        return self._require().client

    @property
    def bus(self) -> EventBus:
        """The ONE event bus: the services publish to it, the adapter pushes from it."""
        return self._require().bus

    @property
    def catalog(self) -> Catalog:
        """What the shop sells."""
        return self._require().payments.catalog

    @property
    def payments(self) -> Payments:
        """Purchases, top-ups, buy-with-balance, callbacks, polling, reconciliation."""
        return self._require().payments

    @property
    def inventory(self) -> Inventory:
        """Gameplay grants, spends, time-limited lots and their sweep (``docs/inventory.md``)."""
        return self._require().inventory

    @property
    def withdrawals(self) -> Withdrawals:
        """Payouts to players' wallets."""
        return self._require().withdrawals

    @property
    def rewards(self) -> Mapping[str, RewardRunner]:
        """One ``RewardRunner`` per program, by program name."""
        return self._require().rewards

    @property
    def trades(self) -> Trades:
        """Player-to-player trades (``gamepay.inventory.Trades``), also offered over websockets."""
        return self._require().trades

    @property
    def adapter(self) -> WebsocketAdapter:
        """The websocket adapter players talk to (protocol v1)."""
        return self._require().adapter

    @property
    def metrics(self) -> Metrics | None:
        """The metrics it reports to, if any."""
        return self._metrics

    # ------------------------------------------------------------------ the game's own moves
    async def grant(
        self, player_id: str, asset: Currency | Item, amount: int, *, grant_id: str, memo: str = ""
    ) -> TransferRecord:
        """Give a player ``amount`` of an in-game currency or item, once per ``grant_id``.

        What a game does when a player earns gold or a quest reward: the asset is registered,
        the accounts opened, and one ``grant`` transfer moves it from the asset's issuer to the
        player (a repeated ``grant_id`` returns the first transfer). No push is sent: the
        player sees it in ``balances``.
        On-chain tokens are never granted from nothing: they arrive by top-up or purchase.
        """
        if not isinstance(asset, Currency | Item):
            raise InvalidInput("only in-game currencies and items can be granted")
        ledger = self.ledger
        issuer = issuer_account(asset.id)
        await ledger.register_asset(asset)
        await ledger.open_account(issuer, kind=AccountKind.SYSTEM, allow_negative=True)
        await ledger.open_account(player_account(player_id))
        player = player_account(player_id)
        spec = TransferSpec(issuer, player, asset.id, amount, TransferKind.GRANT, memo)
        return await ledger.transfer(f"grant:{grant_id}", spec)

    # ------------------------------------------------------------------ serving
    def issue_token(self, player_id: str, ttl: int = 600) -> str:
        """A websocket token for ``player_id`` (call it after the game's own login)."""
        signing = self._require().signing
        if signing is None:
            raise ConfigError("this Economy checks tokens with its own authenticator")
        return issue_token(
            player_id,
            signing.secret,
            ttl,
            kid=signing.kid,
            issuer=signing.issuer,
            audience=signing.audience,
        )

    @property
    def routes(self) -> list[BaseRoute]:
        """All it serves, to mount in the game's app: ``POST /kryptogo/callback``, ``GET
        /healthz`` (and ``GET /metrics``), and the players' websocket at ``/ws``."""
        return [*self.callback_routes(), WebSocketRoute(WEBSOCKET_PATH, self._endpoint)]

    def callback_routes(self, path: str = CALLBACK_PATH) -> list[BaseRoute]:
        """The callback endpoint at ``path``, ``/healthz`` and, with metrics, ``/metrics``."""
        handler: _Callbacks | InstrumentedCallbacks = _Callbacks(self)
        routes: list[BaseRoute] = []
        metrics = self._metrics
        if metrics is not None:
            handler = InstrumentedCallbacks(handler, metrics)

            async def refresh() -> None:
                await metrics.refresh_from_store(self.store)

            routes.append(Route("/metrics", metrics_endpoint(metrics, refresh), methods=["GET"]))
        return [*callback_routes(handler, path), *routes]

    @property
    def websocket_endpoint(self) -> WebsocketEndpoint:
        """The players' websocket as an ASGI app, to mount at a path of the game's choosing
        (``WebSocketRoute(path, economy.websocket_endpoint)``; FastAPI:
        ``app.add_websocket_route``). Connections before the economy runs are closed with 1013."""
        return self._endpoint

    async def websocket_handler(self, connection: Socket) -> None:
        """Serve one player's connection (a python-websockets one, in the game's own server)."""
        await self._serve_socket(self.adapter, connection)

    async def _serve_socket(self, adapter: WebsocketAdapter, connection: Socket) -> None:
        metrics = self._metrics
        if metrics is not None:
            metrics.ws_opened()
        try:
            # Every line logged while serving this connection carries its id.
            with log_context(request_id=f"ws-{secrets.token_hex(6)}"):
                await adapter.handler(connection)
        finally:
            if metrics is not None:
                metrics.ws_closed()

    @asynccontextmanager
    async def serve_websocket(
        self, host: str = "127.0.0.1", port: int = 0
    ) -> AsyncIterator[Server]:
        """Serve the adapter standalone on a port of its own (beside ``routes``' ``/ws``); yield
        the server, stop it on exit."""
        async with serve(
            self.websocket_handler,
            host,
            port,
            max_size=self.adapter.config.max_message_bytes,
            compression=None,
            max_queue=32,
        ) as server:
            yield server


def _background(stack: AsyncExitStack, work: Awaitable[None]) -> None:
    """Run ``work`` as a task until ``stack`` closes (then cancel it and wait for it)."""
    task = asyncio.ensure_future(work)

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    stack.push_async_callback(stop)
