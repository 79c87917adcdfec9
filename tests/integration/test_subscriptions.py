"""Crypto subscriptions on both backends, paid through the sandbox over real HTTP with callbacks
duplicated and reordered: renewals extend from the period's end (on time or inside the grace),
a lapsed one starts again, no period is paid twice, offers are pushed once."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from gamepay.cli.scheduler import describe, scheduler_for
from gamepay.config import Settings
from gamepay.core.assets import Currency
from gamepay.core.events import EventType
from gamepay.errors import UnknownSku
from gamepay.inventory import Inventory
from gamepay.kryptogo.models import PaymentIntent
from gamepay.payments import BalancePrice, Catalog, CatalogItem, Grant
from gamepay.payments.catalog import SubscriptionTerms
from gamepay.payments.renewals import subscriptions_of
from gamepay.payments.subscriptions import NotASubscription, Renewal
from gamepay.sandbox import Faults
from gamepay.store.schema.subscriptions import periods_table
from tests.support.payments import CATALOG, Env, payments_env

DAY = timedelta(days=1)
VIP = "item:vip"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
MONTH = CatalogItem(
    sku="vip-month",
    title="VIP month",
    price="150",
    currency="TWD",
    grant=Grant(kind="item", code="vip", amount=1),
    subscription=SubscriptionTerms(
        period_s=30 * 86400, grace_s=3 * 86400, offer_before_s=3 * 86400
    ),
)
SUB_CATALOG = Catalog(items=(*CATALOG.items, MONTH))
FAULTS = Faults(seed=17, duplicate_rate=1.0, reorder=1.0)


@dataclass
class Clock:
    """The payments' clock, moved by the test."""

    now: datetime = T0

    def __call__(self) -> datetime:
        """The time now."""
        return self.now


async def _pay(env: Env, renewal: Renewal) -> list[PaymentIntent]:
    """Pay a renewal's intent exactly; wait for its order's success; the intent as the API
    showed it before and after the payment (to be delivered again, late and out of order)."""
    intent_id = renewal.instructions.payment_intent_id
    before = await env.client.get_intent(intent_id)
    env.sandbox.pay(intent_id, "exact")
    await env.wait_status(renewal.instructions.order_id, "success")
    return [before, await env.client.get_intent(intent_id)]


async def test_a_30_day_pass_renewed_on_time_and_in_grace_ends_90_days_after(db_url: str) -> None:
    """The done-when of issue 17: begun at T0, renewed at day 28 and at day 61 (inside the
    3-day grace), under duplicated and reordered callbacks plus every intent applied again late
    and backwards, the pass ends exactly at T0 + 90 days."""
    clock = Clock()
    async with payments_env(db_url, catalog=SUB_CATALOG, clock=clock, faults=FAULTS) as env:
        subs = env.payments.subscriptions
        first = await subs.renew("alice", "vip-month")
        assert first.period_index == 0
        seen = await _pay(env, first)
        clock.now = T0 + 28 * DAY
        second = await subs.renew("alice", "vip-month")
        again = await subs.renew("alice", "vip-month")  # asked twice: one intent for period 1
        assert (second.period_index, again.instructions.order_id) == (
            1,
            second.instructions.order_id,
        )
        seen += await _pay(env, second)
        clock.now = T0 + 61 * DAY  # one day after the period's end: inside the grace
        third = await subs.renew("alice", "vip-month")
        assert third.period_index == 2
        seen += await _pay(env, third)
        await env.settle_callbacks()
        for intent in reversed(seen):  # late, backwards, and each twice at once
            await asyncio.gather(env.payments.apply(intent), env.payments.apply(intent))
        sub = await subs.get("alice", "vip-month")
        assert sub is not None
        assert (sub.period.index, sub.started_at) == (2, T0)
        assert sub.period.start == T0 + 60 * DAY
        assert sub.period.end == T0 + 90 * DAY
        assert sub.pass_until == T0 + 93 * DAY
        assert await env.count(periods_table, player_id="alice") == 3
        inventory = Inventory(env.ledger, clock=clock)
        clock.now = T0 + 92 * DAY
        assert (await inventory.balances("alice"))[VIP].available == 1  # one pass, in grace
        clock.now = T0 + 93 * DAY
        assert (await inventory.balances("alice"))[VIP].available == 0  # lapsed
        report = await inventory.sweep()
        assert report.by_asset == {VIP: 3}  # every period's pass went back
        assert await env.balance("alice", VIP) == 0
        assert (await env.ledger.verify()).ok


async def test_a_renewal_paid_after_the_grace_starts_a_new_period(db_url: str) -> None:
    """Paid 4 days after the end (grace 3 days): the new period runs from the payment time."""
    clock = Clock()
    async with payments_env(db_url, catalog=SUB_CATALOG, clock=clock, faults=FAULTS) as env:
        subs = env.payments.subscriptions
        await _pay(env, await subs.renew("bob", "vip-month"))
        clock.now = T0 + 34 * DAY
        assert await subs.get("bob", "vip-month") is not None
        renewal = await subs.renew("bob", "vip-month")
        await _pay(env, renewal)
        await env.settle_callbacks()
        sub = await subs.get("bob", "vip-month")
        assert sub is not None
        assert (sub.period.index, sub.period.start, sub.period.end) == (
            1,
            T0 + 34 * DAY,
            T0 + 64 * DAY,
        )


async def test_offers_are_pushed_once_per_period_and_renewals_are_subscriptions_only(
    db_url: str,
) -> None:
    """The offer comes from 3 days before the end, once (twice asked, also concurrently); a
    plain item is not a subscription; a period row cannot be written twice."""
    clock = Clock()
    async with payments_env(db_url, catalog=SUB_CATALOG, clock=clock) as env:
        subs = env.payments.subscriptions
        first = await subs.renew("cy", "vip-month")
        await _pay(env, first)
        clock.now = T0 + 26 * DAY
        assert (await subs.offer_due()).offered == 0
        clock.now = T0 + 27 * DAY
        reports = await asyncio.gather(subs.offer_due(), subs.offer_due())
        assert sum(r.offered for r in reports) == 1
        [event] = [e for r in reports for e in r.events]
        assert event.type is EventType.RENEWAL_OFFERED
        assert (event.payload["renewal_index"], event.payload["price"]) == (1, "150")
        assert event.payload["period_end"] == (T0 + 30 * DAY).isoformat()
        assert (await subs.offer_due()).offered == 0
        with pytest.raises(NotASubscription):
            await subs.renew("cy", "sword")
        with pytest.raises(UnknownSku):
            await subs.renew("cy", "nothing")
        listed = await env.store.read(lambda c: subscriptions_of(c, "cy"))
        assert [s.sku for s in listed] == ["vip-month"]

        async def twice(conn: object) -> None:
            await conn.execute(  # type: ignore[attr-defined]
                periods_table.insert().values(
                    player_id="cy",
                    sku="vip-month",
                    period_index=0,
                    order_id="ord_other",
                    period_start=T0,
                    period_end=T0,
                    paid_at=T0,
                )
            )

        with pytest.raises(IntegrityError):
            await env.store.run(twice)


async def test_the_renewals_job_offers_due_renewals_with_one_log_line(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """serve's renewals job (GAMEPAY_RENEWAL_OFFER_S) offers what is due, one line per tick."""
    clock = Clock()
    async with payments_env(db_url, catalog=SUB_CATALOG, clock=clock) as env:
        await _pay(env, await env.payments.subscriptions.renew("dee", "vip-month"))
        clock.now = T0 + 28 * DAY
        on = Settings(rewards_tick_s=0, reconcile_interval_s=0, expiry_sweep_s=0, renewal_offer_s=5)
        scheduler = scheduler_for(on, rewards={}, payments=env.payments, clock=clock)
        assert describe(scheduler, on, ()).endswith("; expiry off; renewal offers every 5s")
        [job] = scheduler.jobs
        with caplog.at_level(logging.INFO, logger="gamepay.scheduler"):
            assert (await scheduler.tick(job)).summary == "1 renewal(s) offered"
            assert (await scheduler.tick(job)).summary == "0 renewal(s) offered"
        lines = [r.getMessage() for r in caplog.records if r.name == "gamepay.scheduler"]
        assert [line.split(" (")[0] for line in lines] == [
            "scheduler renewals: 1 renewal(s) offered",
            "scheduler renewals: 0 renewal(s) offered",
        ]
        off = Settings(renewal_offer_s=0, expiry_sweep_s=0, reconcile_interval_s=0)
        none = scheduler_for(off, rewards={}, payments=env.payments)
        assert none.jobs == ()


async def test_a_timed_catalog_grant_expires_after_its_duration(db_url: str) -> None:
    """A 7-day pass bought with crypto (callbacks duplicated and reordered): one lot from the
    payment, shown for 7 days, hidden from then on, swept back once."""
    clock = Clock()
    week = CatalogItem(
        sku="vip-week",
        title="VIP week",
        price="50",
        currency="TWD",
        grant=Grant(kind="item", code="vip", amount=1, duration_s=7 * 86400),
    )
    catalog = Catalog(items=(*CATALOG.items, week))
    async with payments_env(db_url, catalog=catalog, clock=clock, faults=FAULTS) as env:
        pay = await env.payments.purchase("eve", "vip-week", request_id="w1")
        env.sandbox.pay(pay.payment_intent_id, "exact")
        await env.wait_status(pay.order_id, "success")
        await env.settle_callbacks()
        inventory = Inventory(env.ledger, clock=clock)
        clock.now = T0 + 7 * DAY - timedelta(seconds=1)
        assert (await inventory.balances("eve"))[VIP].available == 1
        clock.now = T0 + 7 * DAY
        assert (await inventory.balances("eve"))[VIP].available == 0
        assert (await inventory.sweep()).by_asset == {VIP: 1}
        assert (await inventory.sweep()).expired == 0
        assert await env.balance("eve", VIP) == 0
        assert (await env.ledger.verify()).ok


async def test_a_timed_grant_bought_with_a_balance_gets_its_lot(db_url: str) -> None:
    """Bought with gold (one batch, no intent), a 1-day grant writes its lot in that batch's
    transaction: shown for a day, hidden after, swept back once; a retried request, nothing."""
    clock = Clock()
    day_pass = CatalogItem(
        sku="vip-day",
        title="VIP day",
        price="5",
        currency="TWD",
        grant=Grant(kind="item", code="vip", amount=1, duration_s=86400),
        balance_price=BalancePrice(asset_id="currency:gold", amount=10),
    )
    catalog = Catalog(items=(*CATALOG.items, day_pass))
    async with payments_env(db_url, catalog=catalog, clock=clock, callbacks=False) as env:
        inventory = Inventory(env.ledger, clock=clock)
        await env.ledger.register_asset(Currency("gold"))
        await inventory.grant("fay", "currency:gold", 20, "quest", "q1")
        await env.payments.buy_with_balance("fay", "vip-day", request_id="d1")
        await env.payments.buy_with_balance("fay", "vip-day", request_id="d1")  # a retry
        assert (await inventory.balances("fay"))[VIP].available == 1
        clock.now = T0 + DAY
        assert (await inventory.balances("fay"))[VIP].available == 0
        assert (await inventory.sweep()).by_asset == {VIP: 1}
        assert await env.balance("fay", "currency:gold") == 10
        assert (await env.ledger.verify()).ok
