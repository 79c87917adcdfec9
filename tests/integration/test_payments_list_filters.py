"""Exactly-once creates when the (undocumented) list call ignores our filters and pages its own
way, and the safety net: a second intent for one order is credited once, never lost."""

from __future__ import annotations

import pytest

from gamepay.core.intents import OrderStatus
from gamepay.errors import OutcomeUnknownError
from gamepay.payments import PaymentsConfig
from gamepay.sandbox import SandboxConfig
from tests.support.payments import USDT, payments_env

DEAF = SandboxConfig(seed=7, list_ignores_filters=True, list_page_size=3)
"""A list endpoint that ignores every filter and the page size: all intents, newest first."""


def naming(env: object, order_id: str) -> list[str]:
    """The sandbox's intents whose order_data names ``order_id``."""
    return [
        i.payment_intent_id
        for i in env.sandbox.intents()  # type: ignore[attr-defined]
        if (i.order_data or {}).get("order_id") == order_id
    ]


def noise(env: object, count: int) -> None:
    """Intents of other studios' orders and group keys, created straight at the sandbox."""
    for n in range(count):
        env.sandbox.create_intent(  # type: ignore[attr-defined]
            fiat_amount="1", fiat_currency="USD", group_key="other", order_data={"order_id": n}
        )


async def test_unknown_create_is_found_on_order_data_when_filters_are_ignored(
    db_url: str,
) -> None:
    """The answer of a committed create is lost; the lookup reads pages that ignore the group
    key and time filters and matches order_data itself: one intent, linked, paid once."""
    async with payments_env(db_url, sandbox_config=DEAF) as env:
        noise(env, 10)
        await env.payments.top_up("amy", "2", "USD", request_id="before")
        env.sandbox.arm_timeout_after_commit("create", "504")
        pay = await env.payments.top_up("amy", "5", "USD", request_id="lost")
        assert naming(env, pay.order_id) == [pay.payment_intent_id]
        order = await env.order(pay.order_id)
        assert (order.status, order.create_attempts) == (OrderStatus.PENDING, 1)
        env.sandbox.pay(pay.payment_intent_id, "exact")
        await env.wait_status(pay.order_id, "success")
        assert await env.balance("amy", USDT) == 5_000_000


async def test_a_cut_short_lookup_never_creates_a_second_intent(db_url: str) -> None:
    """After a crash right after the create, newer intents push ours past the pages read:
    "not found" in a cut-short scan proves nothing, so no second create; the intent, paid,
    still links the order."""

    def crash(point: str) -> None:
        if point == "create.after_api":
            raise RuntimeError("crash")

    config = PaymentsConfig(lookup_max_pages=1)
    async with payments_env(db_url, sandbox_config=DEAF, config=config, fault_hook=crash) as env:
        with pytest.raises(RuntimeError):
            await env.payments.top_up("bo", "3", "USD", request_id="r")
        env.payments.fault_hook = None
        [order] = await env.payments.orders_for("bo")
        [intent_id] = naming(env, order.id)
        noise(env, 5)
        with pytest.raises(OutcomeUnknownError):
            await env.payments.top_up("bo", "3", "USD", request_id="r")
        assert naming(env, order.id) == [intent_id]
        assert (await env.order(order.id)).status is OrderStatus.CREATING
        env.sandbox.pay(intent_id, "exact")
        await env.wait_status(order.id, "success")
        assert await env.balance("bo", USDT) == 3_000_000


async def test_money_paid_to_a_second_intent_is_credited_once(db_url: str) -> None:
    """An order linked to intent A; a twin B names it too. Money on B goes to the player's
    balance once (replays and polls change nothing), more money on B later is added, and A's
    own payment still settles the order."""
    async with payments_env(db_url, sandbox_config=DEAF) as env:
        pay = await env.payments.top_up("cy", "4", "USD", request_id="r")
        twin = env.sandbox.create_intent(
            fiat_amount="4",
            fiat_currency="USD",
            callback_url=env.endpoint_url,
            order_data={"order_id": pay.order_id},
            group_key=env.payments.config.group_key,
        )
        assert sorted(naming(env, pay.order_id)) == sorted(
            [pay.payment_intent_id, twin.payment_intent_id]
        )
        env.sandbox.pay(twin.payment_intent_id, "exact")
        await env.settle_callbacks()
        assert await env.balance("cy", USDT) == 4_000_000
        fetched = await env.client.get_intent(twin.payment_intent_id)
        again = await env.payments.apply(fetched, source="poll")
        assert (again.outcome, again.credited) == ("refused", 0)
        assert (await env.order(pay.order_id)).status is OrderStatus.PENDING
        env.sandbox.pay(twin.payment_intent_id, "1")  # more money lands on the twin later
        await env.settle_callbacks()
        assert await env.balance("cy", USDT) == 5_000_000
        env.sandbox.pay(pay.payment_intent_id, "exact")
        await env.wait_status(pay.order_id, "success")
        assert await env.balance("cy", USDT) == 9_000_000
        await env.payments.reconcile(0, 2**31)
        assert await env.balance("cy", USDT) == 9_000_000
        assert (await env.ledger.verify()).ok
