"""Building an economy's parts: from ``Settings`` to a catalog and withdrawal limits, and the
ONE bus the services publish to and the websocket adapter listens to.

``build`` wires ``Payments``, ``Withdrawals``, ``Trades``, the ``Inventory``, a ``RewardRunner``
per program and the adapter on one bus; ``gamepay.economy.Economy`` runs what it builds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass

from pydantic import SecretStr

from gamepay.bus import EventBus, ManagedBus, open_bus
from gamepay.config import Settings, TokenSigning
from gamepay.core.assets import Currency, Item, Token
from gamepay.core.events import Event, EventPublisher
from gamepay.errors import ConfigError
from gamepay.inventory import Inventory, Trades
from gamepay.kryptogo.client import KryptoGOClient
from gamepay.ledger import Ledger
from gamepay.metrics import Metrics, MetricsPublisher
from gamepay.payments import Payments, PaymentsConfig
from gamepay.payments.catalog import Catalog, CatalogError, load_catalog
from gamepay.rewards import Program, RewardRunner, runners_for
from gamepay.store import Store
from gamepay.withdrawals import Withdrawals, WithdrawalsConfig
from gamepay_ws import AdapterConfig, Authenticator, JwtAuthenticator, WebsocketAdapter
from gamepay_ws.backend import GamepayBackend

__all__ = [
    "OutboxSource",
    "Parts",
    "build",
    "catalog_of",
    "check_assets",
    "default_bus",
    "owned_bus",
    "secret_text",
    "withdrawals_config",
]


def catalog_of(settings: Settings) -> Catalog:
    """The catalog in ``GAMEPAY_CATALOG_FILE`` (``docs/catalog.md``), or an empty one.

    Raises ``CatalogError`` (a ``ConfigError``) with one line per problem.
    """
    path = settings.catalog_file
    if path is None:
        return Catalog()
    try:
        return load_catalog(path)
    except CatalogError as exc:
        raise CatalogError(exc.problems, source=f"GAMEPAY_CATALOG_FILE {path}") from None


def withdrawals_config(
    settings: Settings, tokens: Sequence[Token] | None = None
) -> WithdrawalsConfig:
    """The withdrawal tokens and limits of ``settings`` (limits in each token's base units)."""
    chosen = list(tokens) if tokens is not None else settings.tokens
    return WithdrawalsConfig(
        tokens={t.id: t for t in chosen},
        min_amount={t.id: settings.withdrawal_min_units(t.decimals) for t in chosen},
        daily_limit={t.id: settings.withdrawal_daily_limit_units(t.decimals) for t in chosen},
        time_zone=settings.time_zone,
    )


class OutboxSource:
    """The bus's ``EventSource``: re-reads notified events from the store's events outbox."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def events_after(self, player_id: str, last_id: int, limit: int) -> Sequence[Event]:
        """A player's persisted events with ``id > last_id``, oldest first."""
        from gamepay.bus.outbox import events_after

        return await self._store.read(lambda conn: events_after(conn, player_id, last_id, limit))


@dataclass(frozen=True, slots=True)
class Parts:
    """Everything one economy is made of, once built."""

    store: Store
    ledger: Ledger
    client: KryptoGOClient
    bus: EventBus
    payments: Payments
    withdrawals: Withdrawals
    rewards: Mapping[str, RewardRunner]
    adapter: WebsocketAdapter
    signing: TokenSigning | None
    assets: tuple[Currency | Item, ...]
    trades: Trades
    inventory: Inventory


def build(
    *,
    store: Store,
    client: KryptoGOClient,
    catalog: Catalog,
    ledger: Ledger | None,
    bus: EventBus,
    payments_config: PaymentsConfig | None,
    withdrawals: WithdrawalsConfig | None,
    programs: Sequence[Program],
    signing: TokenSigning | None,
    authenticator: Authenticator | None,
    metrics: Metrics | None,
    adapter_config: AdapterConfig | None,
    assets: Sequence[Currency | Item],
) -> Parts:
    """Wire the services and the adapter on ONE bus (the services publish, the adapter listens)."""
    if authenticator is None:
        if signing is None:
            raise ConfigError("an Economy needs token_secret (or an authenticator) for players")
        authenticator = JwtAuthenticator(
            signing.accepted_keys(), issuer=signing.issuer, audience=signing.audience
        )
    ledger = ledger if ledger is not None else Ledger(store)
    publisher: EventPublisher = bus if metrics is None else MetricsPublisher(metrics, bus)
    payments = Payments(store, ledger, client, catalog, config=payments_config, publisher=publisher)
    service = Withdrawals(
        store,
        ledger,
        client,
        config=withdrawals if withdrawals is not None else WithdrawalsConfig(tokens={}),
        publisher=publisher,
    )
    runners = runners_for(store, ledger, programs, withdrawals=service)
    trades = Trades(ledger, publisher=publisher)
    inventory = Inventory(ledger, publisher=publisher)
    adapter = WebsocketAdapter(
        GamepayBackend(payments, service, trades, inventory=inventory),
        authenticator,
        bus=bus,
        config=adapter_config,
    )
    return Parts(
        store,
        ledger,
        client,
        bus,
        payments,
        service,
        runners,
        adapter,
        signing,
        tuple(assets),
        trades,
        inventory,
    )


def check_assets(assets: Sequence[Currency | Item]) -> tuple[Currency | Item, ...]:
    """The in-game assets to register on start; ConfigError for anything else (a token)."""
    for asset in assets:
        if not isinstance(asset, Currency | Item):
            raise ConfigError(f"assets= takes in-game currencies and items, not {asset!r}")
    return tuple(assets)


def secret_text(secret: str | SecretStr | None) -> str | None:
    """The text of a secret given as a plain string or a ``SecretStr``."""
    return secret.get_secret_value() if isinstance(secret, SecretStr) else secret


def default_bus(store: Store, *, database_url: str, bus_url: str | None = None) -> ManagedBus:
    """The bus an economy owns (``gamepay.bus.open_bus``, not started): ``bus_url``'s, else
    ``LISTEN/NOTIFY`` on a PostgreSQL store and an in-process bus on SQLite."""
    return open_bus(store, OutboxSource(store), database_url=database_url, bus_url=bus_url)


async def owned_bus(
    stack: AsyncExitStack, store: Store, *, database_url: str, bus_url: str | None
) -> EventBus:
    """``default_bus`` started, and closed when ``stack`` closes."""
    bus = default_bus(store, database_url=database_url, bus_url=bus_url)
    await bus.start()
    stack.push_async_callback(bus.close)
    return bus
