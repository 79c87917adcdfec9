"""The production wiring of one gamepay process, from ``Settings``: what ``gamepay serve`` runs.

``running_runtime(settings, catalog)`` connects the store (and migrates it), builds the KryptoGO
client with metrics hooks, the event bus (``GAMEPAY_BUS_URL``: NATS JetStream; else PostgreSQL
``LISTEN/NOTIFY`` on PostgreSQL, in-process on SQLite) wrapped so events are counted, the
``Payments`` and ``Withdrawals`` services, the websocket adapter (its connections counted), and
ONE HTTP app on ``GAMEPAY_HTTP_PORT`` with the players' websocket at ``/ws``, the storefront
page at ``/`` (``gamepay_ws.storefront``), the KryptoGO callback endpoint, ``/healthz`` and
``/metrics`` (plus a standalone ``websockets`` server when ``GAMEPAY_WS_PORT`` is set); a
background task polls due intents. Everything stops, in reverse order, when the block exits.
The demo runs exactly this, pointed at the sandbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import logging
import secrets
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Route, WebSocketRoute
from websockets.asyncio.server import serve

from gamepay.bus import EventBus, open_bus
from gamepay.cli._common import ensure_sqlite_dir
from gamepay.cli.catalog import catalog_for
from gamepay.cli.withdrawals import withdrawals_config
from gamepay.config import Settings
from gamepay.core.assets import Token
from gamepay.core.events import Event
from gamepay.errors import PortInUse
from gamepay.kryptogo.client import KryptoGOClient
from gamepay.ledger import Ledger
from gamepay.metrics import InstrumentedCallbacks, Metrics, MetricsPublisher, metrics_endpoint
from gamepay.observability import log_context
from gamepay.payments import Payments, PaymentsConfig
from gamepay.payments.catalog import Catalog
from gamepay.store import Store
from gamepay.withdrawals.service import Withdrawals
from gamepay_ws import (
    CALLBACK_PATH,
    AdapterConfig,
    HmacTokenAuthenticator,
    Socket,
    WebsocketAdapter,
    WebsocketEndpoint,
    callback_routes,
    serve_http,
)
from gamepay_ws.backend import GamepayBackend
from gamepay_ws.storefront import storefront_route

__all__ = ["Runtime", "catalog_for", "running_runtime"]

log = logging.getLogger("gamepay.cli.runtime")


@dataclass
class Runtime:
    """A running gamepay process: its parts and where it listens."""

    settings: Settings
    store: Store
    ledger: Ledger
    client: KryptoGOClient
    bus: EventBus
    payments: Payments
    withdrawals: Withdrawals
    adapter: WebsocketAdapter
    metrics: Metrics
    http_url: str
    ws_url: str
    """The players' websocket: ``/ws`` on the HTTP port."""
    callback_url: str
    standalone_ws_url: str | None = None
    """The standalone websocket server (only when ``GAMEPAY_WS_PORT`` is set)."""


class _Deferred:
    """Forwards to ``Payments`` once it exists (the HTTP app and the bus are built first)."""

    def __init__(self) -> None:
        self.payments: Payments | None = None

    async def handle_callback(self, body: bytes, headers: Mapping[str, str]) -> Any:
        """Forward to ``Payments.handle_callback``."""
        assert self.payments is not None
        return await self.payments.handle_callback(body, headers)

    async def events_after(self, player_id: str, last_id: int, limit: int) -> Sequence[Event]:
        """Forward to ``Payments.events_after`` (the PostgreSQL bus re-reads events here)."""
        assert self.payments is not None
        return await self.payments.events_after(player_id, last_id, limit)


async def _poll_forever(payments: Payments, interval: float) -> None:
    """Poll due intents every ``interval`` seconds (repairs missed callbacks); never raises."""
    while True:
        await asyncio.sleep(interval)
        try:
            with log_context(request_id=f"poll-{secrets.token_hex(6)}"):
                await payments.poll_due()
        except Exception:
            log.exception("polling due intents failed; trying again in %.0fs", interval)


@asynccontextmanager
async def running_runtime(
    settings: Settings,
    catalog: Catalog,
    *,
    metrics: Metrics | None = None,
    tokens: Sequence[Token] | None = None,
    extra_routes: Sequence[BaseRoute] = (),
    adapter_config: AdapterConfig | None = None,
    poll_interval: float | None = 5.0,
) -> AsyncIterator[Runtime]:
    """Run one gamepay process from ``settings`` in this event loop; stop it on exit.

    ``tokens`` overrides ``settings.tokens`` (the withdrawable tokens); ``extra_routes`` are
    added to the HTTP app (the demo adds its storefront's helpers); ``poll_interval=None``
    disables the background poller.
    """
    token_secret = settings.ws_token_secret_value()  # before touching the database or a port
    metrics = metrics if metrics is not None else Metrics()
    async with AsyncExitStack() as stack:
        ensure_sqlite_dir(settings.database_url)
        store = await Store.connect(settings.database_url)
        stack.push_async_callback(store.close)
        await store.migrate()
        ledger = Ledger(store)
        client = KryptoGOClient(
            client_id=settings.kryptogo_client_id,
            api_key=settings.kryptogo_api_key.get_secret_value(),
            origin=settings.kryptogo_origin,
            base_url=settings.kryptogo_base_url,
            timeout=settings.kryptogo_timeout_s,
            event_hooks=metrics.httpx_event_hooks(),
            on_response=metrics.on_client_response,
        )
        stack.push_async_callback(client.aclose)

        deferred = _Deferred()
        managed = open_bus(
            store, deferred, database_url=settings.database_url, bus_url=settings.bus_url
        )
        await managed.start()
        stack.push_async_callback(managed.close)
        bus: EventBus = managed
        publisher = MetricsPublisher(metrics, bus)

        async def refresh() -> None:
            await metrics.refresh_from_store(store)

        async def counted(adapter: WebsocketAdapter, ws: Socket) -> None:
            metrics.ws_opened()
            try:
                # Every line logged while serving this connection carries its id.
                with log_context(request_id=f"ws-{secrets.token_hex(6)}"):
                    await adapter.handler(ws)
            finally:
                metrics.ws_closed()

        # Players connect at /ws of the HTTP port; its adapter comes once the services exist.
        endpoint = WebsocketEndpoint(handler=counted)
        max_frame = (adapter_config or AdapterConfig()).max_message_bytes

        app = Starlette(
            routes=[
                *callback_routes(InstrumentedCallbacks(deferred, metrics)),
                Route("/metrics", metrics_endpoint(metrics, refresh), methods=["GET"]),
                WebSocketRoute("/ws", endpoint),
                storefront_route("/"),
                *extra_routes,
            ]
        )
        try:
            http_port = await stack.enter_async_context(
                serve_http(
                    app,
                    settings.host,
                    settings.http_port,
                    ws_max_size=max_frame,
                    ws_per_message_deflate=False,
                )
            )
        except PortInUse as exc:
            raise PortInUse(exc.host, exc.port, setting="GAMEPAY_HTTP_PORT") from None
        http_url = f"http://{settings.host}:{http_port}"
        callback_url = settings.callback_public_url or f"{http_url}{CALLBACK_PATH}"

        secret = settings.callback_secret
        payments = Payments(
            store,
            ledger,
            client,
            catalog,
            config=PaymentsConfig(
                callback_url=callback_url,
                callback_secret=secret,
                creating_timeout=settings.creating_timeout_s,
            ),
            publisher=publisher,
        )
        deferred.payments = payments
        withdrawals = Withdrawals(
            store,
            ledger,
            client,
            config=withdrawals_config(settings, tokens),
            publisher=publisher,
        )
        await withdrawals.prepare()
        await payments.check_catalog()  # after prepare: the withdrawable tokens are registered

        adapter = WebsocketAdapter(
            GamepayBackend(payments, withdrawals),
            HmacTokenAuthenticator(token_secret),
            bus=bus,
            config=adapter_config,
        )
        adapter.start()
        stack.callback(adapter.stop)

        endpoint.adapter = adapter
        standalone_ws_url = None
        if settings.ws_port is not None:
            try:
                server = await stack.enter_async_context(
                    serve(
                        functools.partial(counted, adapter),
                        settings.host,
                        settings.ws_port,
                        max_size=adapter.config.max_message_bytes,
                        compression=None,
                        max_queue=32,
                    )
                )
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
                raise PortInUse(
                    settings.host, settings.ws_port, setting="GAMEPAY_WS_PORT"
                ) from None
            ws_port = server.sockets[0].getsockname()[1] if server.sockets else settings.ws_port
            standalone_ws_url = f"ws://{settings.host}:{ws_port}"

        if poll_interval is not None:
            poller = asyncio.create_task(_poll_forever(payments, poll_interval), name="gp-poll")

            async def stop_poller() -> None:
                poller.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await poller

            stack.push_async_callback(stop_poller)

        log.info(
            "gamepay running: http %s (websocket /ws, callback %s), standalone websocket %s, "
            "database %s",
            http_url,
            callback_url,
            standalone_ws_url or "off",
            settings.safe_database_url,
        )
        yield Runtime(
            settings=settings,
            store=store,
            ledger=ledger,
            client=client,
            bus=bus,
            payments=payments,
            withdrawals=withdrawals,
            adapter=adapter,
            metrics=metrics,
            http_url=http_url,
            ws_url=f"ws://{settings.host}:{http_port}/ws",
            callback_url=callback_url,
            standalone_ws_url=standalone_ws_url,
        )


def new_secret() -> str:
    """A fresh random secret (the demo's websocket token secret)."""
    return secrets.token_hex(32)
