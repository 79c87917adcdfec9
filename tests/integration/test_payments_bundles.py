"""Bundles and offer windows against the sandbox over real HTTP, both backends: a bundle grants
every part in the order's one ledger batch, exactly once; outside its window an item is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gamepay.core.events import EventType
from gamepay.errors import InsufficientFunds
from gamepay.payments import (
    Catalog,
    OfferUnavailable,
    OrderStatus,
    Payments,
)
from tests.support.payments import PARTS, USDT, Env, payments_env, with_usdt_sword

STARTER = PARTS["starter"]


async def _funded(env: Env, player: str, usd: str) -> None:
    """Top ``player`` up with ``usd`` dollars of USDT (paid exactly)."""
    pay = await env.payments.top_up(player, usd, "USD")
    env.sandbox.pay(pay.payment_intent_id, "exact")
    await env.wait_status(pay.order_id, "success")


async def test_bundle_bought_with_balance_grants_every_part_in_one_order(db_url: str) -> None:
    """A bundle bought with a balance: one order, one batch (price + a grant per part), one
    ``asset_granted`` per part; a replay is the same order; short funds move nothing."""
    async with payments_env(db_url) as env:
        await _funded(env, "bea", "10")
        order = await env.payments.buy_with_balance("bea", "starter", request_id="b1")
        assert order.status is OrderStatus.COMPLETED
        again = await env.payments.buy_with_balance("bea", "starter", request_id="b1")
        assert again.id == order.id
        for asset, amount in STARTER.items():
            assert await env.balance("bea", asset) == amount
        assert await env.balance("bea", USDT) == 2_000_000
        transfers = [await env.ledger.get_transfer(f"buy:{order.id}/{n}") for n in range(5)]
        kinds = [None if t is None else str(t.kind) for t in transfers]
        assert kinds == ["purchase", "grant", "grant", "grant", None]
        granted = [
            e
            for e in await env.payments.events_after("bea", 0)
            if e.type is EventType.ASSET_GRANTED
        ]
        assert {e.payload["asset_id"]: int(e.payload["amount"]) for e in granted} == STARTER
        assert {e.payload["order_id"] for e in granted} == {order.id}
        with pytest.raises(InsufficientFunds):
            await env.payments.buy_with_balance("bea", "starter", request_id="b2")
        for asset, amount in STARTER.items():
            assert await env.balance("bea", asset) == amount
        assert len(list(await env.payments.orders_for("bea"))) == 2  # the top-up and b1
        assert (await env.ledger.verify()).ok


async def test_bundle_paid_in_crypto_grants_every_part_once(db_url: str) -> None:
    """An exact payment grants every part in the one ``pay:<order>`` batch; replays add none."""
    async with payments_env(db_url) as env:
        pay = await env.payments.purchase("cyd", "starter", request_id="r1")
        env.sandbox.pay(pay.payment_intent_id, "exact")
        order = await env.wait_status(pay.order_id, "success")
        assert order.granted
        intent = env.sandbox.get_intent(pay.payment_intent_id).to_model()
        for _ in range(3):
            await env.payments.apply(intent)
        for asset, amount in STARTER.items():
            assert await env.balance("cyd", asset) == amount
        transfers = [await env.ledger.get_transfer(f"pay:{order.id}/{n}") for n in range(6)]
        kinds = [None if t is None else str(t.kind) for t in transfers]
        assert kinds == ["deposit", "purchase", "grant", "grant", "grant", None]
        assert (await env.ledger.verify()).ok


async def test_late_bundle_payment_grants_no_part(db_url: str) -> None:
    """A payment on an expired bundle intent is credited as balance; no part is granted."""
    async with payments_env(db_url) as env:
        pay = await env.payments.purchase("dex", "starter")
        env.sandbox.pay(pay.payment_intent_id, "exact", late=True)
        await env.settle_callbacks()
        await env.payments.apply(env.sandbox.get_intent(pay.payment_intent_id).to_model())
        order = await env.wait_status(pay.order_id, "expired")
        assert not order.granted
        assert await env.balance("dex", USDT) == pay.crypto_amount
        for asset in STARTER:
            assert await env.balance("dex", asset) == 0


async def test_a_bundle_settles_from_its_stored_parts(db_url: str) -> None:
    """A bundle order stores its parts; it settles as sold after the bundle left the catalog."""
    async with payments_env(db_url, callbacks=False) as env:
        pay = await env.payments.purchase("eli", "starter")
        stored = await env.order(pay.order_id)
        assert stored.grant_parts is not None
        assert stored.grant_asset_id is None
        env.sandbox.pay(pay.payment_intent_id, "exact")
        empty = Payments(env.store, env.ledger, env.client, Catalog(items=()))
        await empty.apply(await env.client.get_intent(pay.payment_intent_id))
        for asset, amount in STARTER.items():
            assert await env.balance("eli", asset) == amount


def _windowed(start: datetime, end: datetime) -> Catalog:
    """The test catalog plus a sword sold only from ``start`` until ``end``."""
    return with_usdt_sword(
        "xmas-sword", "Festive sword", "100", available_from=start, available_until=end
    )


async def test_outside_its_window_an_item_is_refused(db_url: str) -> None:
    """Before ``available_from`` and from ``available_until`` on, a buy with a balance and a
    purchase are refused (OfferUnavailable, nothing written); a replay of an order made inside
    the window is still answered; an intent made inside and paid after the window grants."""
    start = datetime(2030, 1, 1, tzinfo=UTC)
    now = [start - timedelta(seconds=1)]
    async with payments_env(db_url, clock=lambda: now[0]) as env:
        await _funded(env, "fox", "5")
        catalog = _windowed(start, start + timedelta(hours=1))
        shop = Payments(env.store, env.ledger, env.client, catalog, clock=lambda: now[0])
        with pytest.raises(OfferUnavailable) as early:
            await shop.buy_with_balance("fox", "xmas-sword", request_id="b0")
        assert early.value.code == "offer_unavailable"
        with pytest.raises(OfferUnavailable):
            await shop.purchase("fox", "xmas-sword")
        now[0] = start
        bought = await shop.buy_with_balance("fox", "xmas-sword", request_id="b1")
        pay = await shop.purchase("fox", "xmas-sword", request_id="p1")
        now[0] = start + timedelta(hours=1)
        with pytest.raises(OfferUnavailable):
            await shop.buy_with_balance("fox", "xmas-sword", request_id="b2")
        with pytest.raises(OfferUnavailable):
            await shop.purchase("fox", "xmas-sword", request_id="p2")
        assert (await shop.buy_with_balance("fox", "xmas-sword", request_id="b1")).id == bought.id
        assert (await shop.purchase("fox", "xmas-sword", request_id="p1")) == pay
        env.sandbox.pay(pay.payment_intent_id, "exact")
        await shop.apply(await env.client.get_intent(pay.payment_intent_id))
        assert (await env.order(pay.order_id)).granted
        assert await env.balance("fox", "item:sword") == 2
        assert len(list(await env.payments.orders_for("fox"))) == 3  # top-up, b1, p1
