"""The production process of ``gamepay serve``: one ``gamepay.Economy`` from ``Settings``, served.

``running_runtime(settings, catalog)`` builds the economy (``gamepay.economy.Economy``: store
migrated, KryptoGO client with metrics hooks, ONE event bus, ``Payments``, ``Withdrawals``, the
websocket adapter, the payments poller; the bus from ``GAMEPAY_BUS_URL``) and serves it: ONE HTTP
app on ``GAMEPAY_HTTP_PORT`` with the players' websocket at ``/ws``, the storefront page at ``/``
(``gamepay_ws.storefront``), the KryptoGO callback endpoint, ``/healthz`` and ``/metrics``, the
operator console at ``/admin`` when ``GAMEPAY_ADMIN_TOKEN`` is set (``gamepay_admin``; plus
extra routes), and a standalone ``websockets`` server when ``GAMEPAY_WS_PORT`` is set. Everything
stops, in reverse order, when the block exits. The demo runs exactly this, pointed at the sandbox.
With ``schedule=True`` (what ``serve`` does) the scheduler (``gamepay.cli.scheduler``) pays the
programs' closed periods, reconciles and sweeps expired lots, as ``GAMEPAY_REWARDS_TICK_S``,
``GAMEPAY_RECONCILE_INTERVAL_S`` and ``GAMEPAY_EXPIRY_SWEEP_S`` say.
"""

from __future__ import annotations

import errno
import logging
import secrets
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from gamepay.bus import EventBus
from gamepay.cli._common import ensure_sqlite_dir
from gamepay.cli.catalog import catalog_for
from gamepay.cli.scheduler import Scheduler, scheduler_for
from gamepay.config import Settings
from gamepay.core.assets import Token
from gamepay.economy import WEBSOCKET_PATH, Economy
from gamepay.errors import PortInUse
from gamepay.kryptogo.client import KryptoGOClient
from gamepay.ledger import Ledger
from gamepay.metrics import Metrics
from gamepay.payments import Payments
from gamepay.payments.catalog import Catalog
from gamepay.rewards import Program, RewardRunner
from gamepay.store import Store
from gamepay.withdrawals.service import Withdrawals
from gamepay_admin import console_routes_for
from gamepay_ws import CALLBACK_PATH, AdapterConfig, WebsocketAdapter, serve_http
from gamepay_ws.storefront import storefront_routes

__all__ = ["Runtime", "catalog_for", "running_runtime"]

log = logging.getLogger("gamepay.cli.runtime")


@dataclass
class Runtime:
    """A running gamepay process: its economy, its parts (the economy's) and where it listens."""

    settings: Settings
    economy: Economy
    metrics: Metrics
    http_url: str
    ws_url: str
    """The players' websocket: ``/ws`` on the HTTP port."""
    callback_url: str
    standalone_ws_url: str | None = None
    """The standalone websocket server (only when ``GAMEPAY_WS_PORT`` is set)."""
    scheduler: Scheduler | None = None
    """The rewards/reconcile scheduler (only with ``schedule=True``)."""

    @property
    def store(self) -> Store:
        """The economy's store."""
        return self.economy.store

    @property
    def ledger(self) -> Ledger:
        """The economy's ledger."""
        return self.economy.ledger

    @property
    def client(self) -> KryptoGOClient:
        """The economy's KryptoGO client."""
        return self.economy.client

    @property
    def bus(self) -> EventBus:
        """The economy's one event bus."""
        return self.economy.bus

    @property
    def payments(self) -> Payments:
        """The economy's payments service."""
        return self.economy.payments

    @property
    def withdrawals(self) -> Withdrawals:
        """The economy's withdrawals service."""
        return self.economy.withdrawals

    @property
    def rewards(self) -> Mapping[str, RewardRunner]:
        """The economy's reward runners, by program name."""
        return self.economy.rewards

    @property
    def adapter(self) -> WebsocketAdapter:
        """The economy's websocket adapter."""
        return self.economy.adapter


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
    programs: Sequence[Program] = (),
    schedule: bool = False,
) -> AsyncIterator[Runtime]:
    """Run one gamepay process from ``settings`` in this event loop; stop it on exit.

    ``tokens`` overrides ``settings.tokens`` (the withdrawable tokens); ``extra_routes`` are added
    to the HTTP app (the demo adds its storefront's helpers); ``poll_interval=None`` disables the
    background poller; ``programs`` get a reward runner each (``Runtime.rewards``). The economy's
    routes (callback, ``/healthz``, ``/metrics``, ``/ws``) are added once it runs, so ``/healthz``
    answers only when the database is migrated. ``schedule`` runs the scheduler.
    """
    metrics = metrics if metrics is not None else Metrics()
    async with AsyncExitStack() as stack:
        ensure_sqlite_dir(settings.database_url)
        app = Starlette(routes=[*storefront_routes("/"), *extra_routes])
        max_frame = (adapter_config or AdapterConfig()).max_message_bytes
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
        economy = Economy.from_settings(
            settings,
            catalog,
            callback_url=callback_url,
            tokens=tokens,
            metrics=metrics,
            adapter_config=adapter_config,
            poll_interval=poll_interval,
            programs=programs,
        )
        await stack.enter_async_context(economy)
        app.router.routes[:0] = [*economy.routes, *console_routes_for(economy, settings)]
        standalone_ws_url = None
        if settings.ws_port is not None:
            try:
                server = await stack.enter_async_context(
                    economy.serve_websocket(settings.host, settings.ws_port)
                )
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
                raise PortInUse(
                    settings.host, settings.ws_port, setting="GAMEPAY_WS_PORT"
                ) from None
            ws_port = server.sockets[0].getsockname()[1] if server.sockets else settings.ws_port
            standalone_ws_url = f"ws://{settings.host}:{ws_port}"

        scheduler = None
        if schedule:
            scheduler = scheduler_for(
                settings,
                rewards=economy.rewards,
                payments=economy.payments,
                inventory=economy.inventory,
                metrics=metrics,
            )
            scheduler.start()
            stack.push_async_callback(scheduler.stop)

        log.info(
            "gamepay running: http %s (websocket %s, callback %s), standalone websocket %s, "
            "database %s",
            http_url,
            WEBSOCKET_PATH,
            callback_url,
            standalone_ws_url or "off",
            settings.safe_database_url,
        )
        yield Runtime(
            settings=settings,
            economy=economy,
            metrics=metrics,
            http_url=http_url,
            ws_url=f"ws://{settings.host}:{http_port}{WEBSOCKET_PATH}",
            callback_url=callback_url,
            standalone_ws_url=standalone_ws_url,
            scheduler=scheduler,
        )


def new_secret() -> str:
    """A fresh random secret (the demo's websocket token secret)."""
    return secrets.token_hex(32)
