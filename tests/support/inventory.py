"""The inventory and trade tests' shared setup: a migrated store, a ledger and a bus that keeps
what it pushed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from gamepay.bus import InProcessBus
from gamepay.core.assets import Asset
from gamepay.core.events import Event
from gamepay.ledger import Ledger
from gamepay.store import Store


@dataclass
class Pushing:
    """A migrated store, its ledger with the registered assets, a bus and what it pushed."""

    store: Store
    ledger: Ledger
    bus: InProcessBus
    pushed: list[Event]


@asynccontextmanager
async def pushing_ledger(
    db_url: str, assets: Iterable[Asset], *, pool_size: int
) -> AsyncIterator[Pushing]:
    """A store on ``db_url`` (``pool_size`` connections, retrying), migrated, with ``assets``
    registered and a bus collecting every event; the bus and store are closed on exit."""
    store = await Store.connect(db_url, pool_size=pool_size, max_overflow=0, max_retries=50)
    try:
        await store.migrate()
        ledger = Ledger(store)
        for asset in assets:
            await ledger.register_asset(asset)
        bus = InProcessBus()
        pushed: list[Event] = []

        async def collect(event: Event) -> None:
            pushed.append(event)

        bus.subscribe(collect)
        try:
            yield Pushing(store, ledger, bus, pushed)
        finally:
            await bus.close()
    finally:
        await store.close()
