"""A catalog whose balance price spells the token address checksummed: the same asset as the
ledger's, shown in tokens, bought with a balance; a catalog in an unknown asset is refused at
start-up. Both backends, against the sandbox over real HTTP."""

from __future__ import annotations

import json

import pytest

from gamepay.core.assets import Currency, Token
from gamepay.payments import BalancePrice, Catalog, CatalogItem, Grant, OrderStatus, Payments
from gamepay.payments.catalog import CatalogError, parse_catalog
from gamepay_ws.backend import GamepayBackend
from tests.support.payments import USDT, Env, payments_env

CHECKSUMMED = "token:arb:0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9"
SHIELD = {
    "sku": "shield",
    "title": "Oak shield",
    "price": "150",
    "currency": "TWD",
    "grant": {"kind": "item", "code": "shield", "amount": 1},
    "balance_price": {"asset_id": CHECKSUMMED, "amount": 2_500_000},
}


def checksummed_catalog() -> Catalog:
    """The catalog a studio writes from our docs: the address as block explorers show it."""
    return parse_catalog(json.dumps({"items": [SHIELD]}))


async def test_checksummed_balance_price_buys_and_shows_tokens(db_url: str) -> None:
    """The checksummed id is the ledger's USDT: check_catalog passes, the catalog shows the
    price in USDT, and a player with a topped-up balance buys the shield with it."""
    async with payments_env(db_url) as env:
        pay = await env.payments.top_up("gil", "5", "USD")
        env.sandbox.pay(pay.payment_intent_id, "exact")
        await env.wait_status(pay.order_id, "success")
        shop = Payments(env.store, env.ledger, env.client, checksummed_catalog())
        await shop.check_catalog()
        (entry,) = await GamepayBackend(shop).catalog()
        assert entry.balance_price is not None
        assert (entry.balance_price.asset, entry.balance_price.amount) == (USDT, "2.5")
        order = await shop.buy_with_balance("gil", "shield", request_id="b1")
        assert order.status is OrderStatus.COMPLETED
        assert order.price_asset_id == USDT
        assert await env.balance("gil", USDT) == 2_500_000
        assert await env.balance("gil", "item:shield") == 1
        assert (await env.ledger.verify()).ok


async def test_check_catalog_refuses_assets_the_ledger_does_not_have(db_url: str) -> None:
    """A balance price in a token the ledger never registered, or a granted currency the ledger
    has with other decimals, is a start-up error naming the item and the field."""
    async with payments_env(db_url) as env:
        await env.ledger.register_asset(Token("arb", CHECKSUMMED.split(":")[2], "USDT", 6))
        await env.ledger.register_asset(Currency("gems", 0))
        usdt = BalancePrice(asset_id=CHECKSUMMED, amount=1)
        await shop(env, item(usdt)).check_catalog()
        unknown = BalancePrice(asset_id="token:bsc:0x" + "CD" * 20, amount=1)
        gems = Grant(kind="currency", code="gems", amount=100, decimals=2)
        with pytest.raises(CatalogError) as caught:
            await shop(env, item(unknown), item(usdt, sku="gems", grant=gems)).check_catalog()
        assert caught.value.problems == [
            "item 'coin' (items[0]) field balance_price.asset_id: token:bsc:0x"
            + "cd" * 20
            + " is not an asset of the ledger (list the token in GAMEPAY_WITHDRAWAL_TOKENS, or "
            "register the asset first)",
            "item 'gems' (items[1]) field grant.decimals: currency:gems has 0 decimals in the "
            "ledger, not 2",
        ]


def item(price: BalancePrice, sku: str = "coin", grant: Grant | None = None) -> CatalogItem:
    """One item priced at ``price``."""
    grant = grant or Grant(kind="item", code=sku, amount=1)
    return CatalogItem(
        sku=sku, title="Coin", price="1", currency="USD", grant=grant, balance_price=price
    )


def shop(env: Env, *items: CatalogItem) -> Payments:
    """Payments over ``env``'s store, ledger and client, selling ``items``."""
    return Payments(env.store, env.ledger, env.client, Catalog(items=items))


async def test_an_order_settles_from_its_stored_grant_or_the_catalog(db_url: str) -> None:
    """An order whose sku left the catalog settles from the grant stored on it; an order from
    before revision 0006 (no stored grant) settles from the catalog, as before."""
    from sqlalchemy import update

    from gamepay.store.schema.payments import orders_table

    async with payments_env(db_url, callbacks=False) as env:
        kept = await env.payments.purchase("hal", "gems-100", request_id="k")
        legacy = await env.payments.purchase("ida", "sword", request_id="l")
        stored = await env.order(kept.order_id)
        assert (stored.grant_asset_id, stored.grant_amount) == ("currency:gems", 100)

        async def forget(conn: object) -> None:
            await conn.execute(  # type: ignore[attr-defined]
                update(orders_table)
                .where(orders_table.c.id == legacy.order_id)
                .values(grant_asset_id=None, grant_amount=None)
            )

        await env.store.run(forget)
        for pay in (kept, legacy):
            env.sandbox.pay(pay.payment_intent_id, "exact")
        without = shop(env)  # an empty catalog: gems-100 is no longer sold
        for pay in (kept, legacy):
            intent = await env.client.get_intent(pay.payment_intent_id)
            if pay is kept:
                await without.apply(intent)
            else:
                await env.payments.apply(intent)
        assert await env.balance("hal", "currency:gems") == 100
        assert await env.balance("ida", "item:sword") == 1
        assert (await env.ledger.verify()).ok
