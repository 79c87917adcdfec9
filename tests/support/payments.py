"""Shared set-up of the payments integration tests: store, ledger, sandbox, client, endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from gamepay.core.accounts import player_account
from gamepay.kryptogo.client import KryptoGOClient
from gamepay.kryptogo.retry import RetryPolicy
from gamepay.ledger import Ledger
from gamepay.payments import (
    BalancePrice,
    Catalog,
    CatalogItem,
    Grant,
    Order,
    Payments,
    PaymentsConfig,
)
from gamepay.payments import repository as q
from gamepay.payments.context import Clock, FaultHook
from gamepay.sandbox import Faults, RunningSandbox, SandboxConfig
from gamepay.store import Store
from gamepay.testing import callback_endpoint, running_sandbox

USDT = "token:arb:0xfd086bc7cd5c481dcc9c85ebe478a1c0b69fcbb9"

CATALOG = Catalog(
    items=(
        CatalogItem(
            sku="sword",
            title="Iron sword",
            price="300.0",
            currency="TWD",
            grant=Grant(kind="item", code="sword", amount=1),
            balance_price=BalancePrice(asset_id=USDT, amount=5_000_000),
        ),
        CatalogItem(
            sku="gems-100",
            title="100 gems",
            price="3",
            currency="USD",
            grant=Grant(kind="currency", code="gems", amount=100),
        ),
        CatalogItem(
            sku="starter",
            title="Starter pack",
            price="600",
            currency="TWD",
            grants=(
                Grant(kind="currency", code="gems", amount=100),
                Grant(kind="item", code="sword", amount=1),
                Grant(kind="item", code="potion", amount=3),
            ),
            balance_price=BalancePrice(asset_id=USDT, amount=8_000_000),
        ),
    )
)
PARTS: dict[str, dict[str, int]] = {
    "sword": {"item:sword": 1},
    "gems-100": {"currency:gems": 100},
    "starter": {"currency:gems": 100, "item:sword": 1, "item:potion": 3},
}
"""What buying each sku of ``CATALOG`` grants: asset id -> amount (``starter`` is a bundle)."""


def with_usdt_sword(sku: str, title: str, price: str, **limits: Any) -> Catalog:
    """``CATALOG`` plus a sword sold as ``sku`` for ``price`` TWD or 1 USDT of balance, with
    ``limits`` (e.g. ``max_per_player``, ``available_from``/``available_until``)."""
    sword = CatalogItem(
        sku=sku,
        title=title,
        price=price,
        currency="TWD",
        grant=Grant(kind="item", code="sword", amount=1),
        balance_price=BalancePrice(asset_id=USDT, amount=1_000_000),
        **limits,
    )
    return Catalog(items=(*CATALOG.items, sword))


@dataclass
class Env:
    """Everything one payments test drives."""

    store: Store
    ledger: Ledger
    client: KryptoGOClient
    payments: Payments
    api: RunningSandbox
    endpoint_url: str

    @property
    def sandbox(self) -> Any:
        """The sandbox's Python control API."""
        return self.api.sandbox

    async def balance(self, player: str, asset: str) -> int:
        """A player's available balance of ``asset`` (0 when never touched or not registered)."""
        try:
            return (await self.ledger.balance(player_account(player), asset)).available
        except Exception:
            return 0

    async def order(self, order_id: str) -> Order:
        """The order as stored."""
        return await self.payments.order(order_id)

    async def wait_status(self, order_id: str, status: str, within: float = 10.0) -> Order:
        """Wait until the order reaches ``status`` (callbacks arrive asynchronously)."""
        async with asyncio.timeout(within):
            while True:
                order = await self.order(order_id)
                if str(order.status) == status:
                    return order
                await asyncio.sleep(0.02)

    async def settle_callbacks(self, within: float = 10.0) -> None:
        """Wait until the sandbox has delivered (or given up on) every queued callback."""
        await self.sandbox.callbacks.flush(within)

    async def count(self, table: Any, **where: Any) -> int:
        """Rows of ``table`` matching ``where``."""

        async def read(conn: Any) -> int:
            query = select(func.count()).select_from(table)
            for name, value in where.items():
                query = query.where(table.c[name] == value)
            return int((await conn.execute(query)).scalar_one())

        return await self.store.run(read)

    async def refused(self, order_id: str) -> int:
        """How many refused updates were recorded for an order."""
        return await self.count(q.refused_table, order_id=order_id)


@asynccontextmanager
async def payments_env(
    db_url: str,
    *,
    config: PaymentsConfig | None = None,
    sandbox_config: SandboxConfig | None = None,
    faults: Faults | None = None,
    fault_hook: FaultHook | None = None,
    clock: Clock | None = None,
    callbacks: bool = True,
    client_timeout: float = 5.0,
    catalog: Catalog = CATALOG,
) -> AsyncIterator[Env]:
    """A migrated store, a ledger, a served sandbox, a client over real HTTP, and Payments.

    With ``callbacks``, a real HTTP callback endpoint serves ``payments.handle_callback`` and
    intents are created with its URL.
    """
    store = await Store.connect(db_url)
    try:
        await store.migrate()
        ledger = Ledger(store)
        # strict: the sandbox refuses any undocumented request field (issue 11)
        cfg = (sandbox_config or SandboxConfig(seed=7)).model_copy(update={"strict": True})
        async with running_sandbox(cfg, faults) as api:
            client = KryptoGOClient(
                client_id=api.client_id,
                api_key=api.api_key,
                origin=api.origin,
                base_url=api.url,
                timeout=client_timeout,
                retry=RetryPolicy(base_delay=0.01, max_delay=0.05),
            )
            try:
                async with callback_endpoint() as endpoint:
                    base = config or PaymentsConfig()
                    if callbacks:
                        base = base.model_copy(update={"callback_url": endpoint.url})
                    payments = Payments(
                        store,
                        ledger,
                        client,
                        catalog,
                        config=base,
                        fault_hook=fault_hook,
                        clock=clock,
                    )
                    endpoint.handler = payments.handle_callback
                    yield Env(store, ledger, client, payments, api, endpoint.url)
            finally:
                await client.aclose()
    finally:
        await store.close()
