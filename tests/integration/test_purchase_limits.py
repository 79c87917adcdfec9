"""max_per_player on both backends, against the sandbox over real HTTP: what holds a slot, what
gives it back, and a payment that finds the limit reached credited as balance, never lost."""

from __future__ import annotations

import asyncio

import pytest

from gamepay.kryptogo.models import PaymentStatus
from gamepay.payments import (
    Catalog,
    OrderStatus,
    PurchaseLimitReached,
)
from gamepay.payments import repository as q
from gamepay.payments.create import fail_order
from gamepay.payments.decide import OVER_LIMIT_NOTE
from tests.support.payments import USDT, Env, payments_env, with_usdt_sword

SWORD = "item:sword"


def limited(n: int) -> Catalog:
    """The test catalog plus ``relic``: a sword sold at most ``n`` times per player."""
    return with_usdt_sword("relic", "Relic sword", "30", max_per_player=n)


async def _funded(env: Env, player: str, usd: str) -> None:
    """Top ``player`` up with ``usd`` dollars of USDT."""
    pay = await env.payments.top_up(player, usd, "USD")
    env.sandbox.pay(pay.payment_intent_id, "exact")
    await env.payments.apply(await env.client.get_intent(pay.payment_intent_id))


async def test_balance_buys_and_payable_intents_hold_slots(db_url: str) -> None:
    """A completed buy and a pending intent each hold a slot; at the limit a buy and a purchase
    are refused with nothing written (no order, no intent, no money moved); a replay of an
    order made before is answered; an expired intent gives its slot back."""
    async with payments_env(db_url, catalog=limited(2)) as env:
        await _funded(env, "ada", "10")
        bought = await env.payments.buy_with_balance("ada", "relic", request_id="b1")
        pay = await env.payments.purchase("ada", "relic", request_id="p1")
        intents = len(env.sandbox.intents())
        with pytest.raises(PurchaseLimitReached) as refused:
            await env.payments.buy_with_balance("ada", "relic", request_id="b2")
        assert refused.value.code == "purchase_limit_reached"
        with pytest.raises(PurchaseLimitReached):
            await env.payments.purchase("ada", "relic", request_id="p2")
        assert len(env.sandbox.intents()) == intents
        assert len(list(await env.payments.orders_for("ada"))) == 3  # top-up, b1, p1
        assert await env.balance("ada", USDT) == 9_000_000
        again = await env.payments.buy_with_balance("ada", "relic", request_id="b1")
        assert again.id == bought.id
        with pytest.raises(PurchaseLimitReached):  # others may buy their own two
            await env.payments.buy_with_balance("ada", "relic", request_id="b3")
        env.sandbox.expire(pay.payment_intent_id)
        await env.payments.apply(await env.client.get_intent(pay.payment_intent_id))
        assert (await env.order(pay.order_id)).status is OrderStatus.EXPIRED
        await env.payments.buy_with_balance("ada", "relic", request_id="b4")
        assert await env.balance("ada", SWORD) == 2
        assert (await env.ledger.verify()).ok


async def test_a_payment_over_the_limit_is_credited_not_lost(db_url: str) -> None:
    """An order whose intent was created but never linked fails and gives its slot back; the
    player fills the limit; then the lost intent is paid: its order links and succeeds, but
    with no slot free its money is credited to the player's balance, nothing granted, and the
    order's log says why. Replays change nothing."""

    class Crash(Exception):
        """An injected crash right after the intent was created."""

    armed = [False]

    def hook(point: str) -> None:
        if armed[0] and point == "create.after_api":
            armed[0] = False
            raise Crash(point)

    async with payments_env(db_url, catalog=limited(1), fault_hook=hook, callbacks=False) as env:
        await _funded(env, "bob", "5")
        armed[0] = True
        with pytest.raises(Crash):
            await env.payments.purchase("bob", "relic", request_id="lost")
        (lost,) = [o for o in await env.payments.orders_for("bob") if o.sku == "relic"]
        assert lost.status is OrderStatus.CREATING
        assert await fail_order(env.payments.context, lost, "test: no intent appeared")
        await env.payments.buy_with_balance("bob", "relic", request_id="b1")  # the free slot
        (intent,) = [i for i in env.sandbox.intents() if i.order_id == lost.id]
        paid = env.sandbox.pay(intent.payment_intent_id, "exact")
        assert paid.status is PaymentStatus.SUCCESS
        for _ in range(3):
            await env.payments.apply(await env.client.get_intent(intent.payment_intent_id))
        order = await env.order(lost.id)
        assert order.status is OrderStatus.SUCCESS
        assert order.granted  # settled: as a credit
        assert await env.balance("bob", SWORD) == 1  # the balance buy's only
        assert await env.balance("bob", USDT) == 4_000_000 + paid.crypto_amount
        notes = await env.store.read(lambda conn: _notes(conn, lost.id))
        assert OVER_LIMIT_NOTE in notes
        assert (await env.ledger.verify()).ok


async def _notes(conn: object, order_id: str) -> list[str | None]:
    """The notes of an order's status log."""
    from sqlalchemy import select

    log = q.intent_log_table
    rows = await conn.execute(  # type: ignore[attr-defined]
        select(log.c.note).where(log.c.order_id == order_id)
    )
    return [r[0] for r in rows]


async def test_fifty_concurrent_buys_hold_the_limit(db_url: str) -> None:
    """50 concurrent buys with a balance by one player (one process): exactly N succeed."""
    async with payments_env(db_url, catalog=limited(7), callbacks=False) as env:
        await _funded(env, "cat", "60")
        results = await asyncio.gather(
            *(env.payments.buy_with_balance("cat", "relic", request_id=f"c{n}") for n in range(50)),
            return_exceptions=True,
        )
        ok = [r for r in results if not isinstance(r, BaseException)]
        refused = [r for r in results if isinstance(r, PurchaseLimitReached)]
        assert (len(ok), len(refused)) == (7, 43), [r for r in results if r not in ok]
        assert await env.balance("cat", SWORD) == 7
        assert await env.balance("cat", USDT) == 53_000_000
        assert (await env.ledger.verify()).ok
