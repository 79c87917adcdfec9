"""Every purchase / top-up lifecycle path against the sandbox over real HTTP, both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from gamepay.core.events import EventType
from gamepay.errors import (
    AmountTooSmall,
    InsufficientFunds,
    InvalidInput,
    OutcomeUnknownError,
    UnknownSku,
)
from gamepay.kryptogo.models import PaymentStatus
from gamepay.payments import ApplyOutcome, OrderStatus, PaymentsConfig
from gamepay.payments import repository as q
from gamepay.sandbox import Faults, SandboxConfig
from gamepay.testing import forged_callback
from tests.support.payments import PARTS, USDT, Env, payments_env

ITEM = "item:sword"


async def _holds(env: Env, player: str, sku: str, times: int) -> bool:
    """Whether ``player`` holds exactly ``times`` purchases of ``sku`` (every bundle part)."""
    held = {asset: await env.balance(player, asset) for asset in PARTS[sku]}
    return held == {asset: amount * times for asset, amount in PARTS[sku].items()}


async def test_exact_payment_grants_once_with_events(db_url: str) -> None:
    """Exact payment: callback -> fetched -> success; item granted once; events persisted."""
    async with payments_env(db_url) as env:
        pay = await env.payments.purchase("alice", "sword", request_id="r1")
        assert pay.crypto_amount == 9_230_770  # ceil(300 / 32.5 USDT) at 6 decimals
        assert pay.crypto_amount_text == "9.23077"
        assert pay.symbol == "USDT"
        assert pay.decimals == 6
        assert pay.chain_id == "arb"
        again = await env.payments.purchase("alice", "sword", request_id="r1")
        assert again == pay  # idempotent per request id: one order, one intent
        assert len(env.sandbox.intents()) == 1
        env.sandbox.pay(pay.payment_intent_id, "exact")
        order = await env.wait_status(pay.order_id, "success")
        assert order.granted
        assert order.received_amount == pay.crypto_amount
        assert await env.balance("alice", ITEM) == 1
        assert await env.balance("alice", USDT) == 0
        revenue = await env.ledger.balance("revenue", USDT)
        assert revenue.available == pay.crypto_amount
        events = await env.payments.events_after("alice", 0)
        kinds = [e.type for e in events]
        assert EventType.ORDER_STATUS_CHANGED in kinds
        assert EventType.ASSET_GRANTED in kinds
        assert [e.id for e in events] == sorted(e.id for e in events)
        assert await env.payments.events_after("alice", events[-1].id) == []
        granted = next(e for e in events if e.type is EventType.ASSET_GRANTED)
        assert granted.payload == {
            "order_id": pay.order_id,
            "sku": "sword",
            "asset_id": ITEM,
            "code": "sword",
            "decimals": 0,
            "amount": "1",
        }
        result = await env.payments.apply(env.sandbox.get_intent(pay.payment_intent_id).to_model())
        assert result.outcome is ApplyOutcome.DUPLICATE
        assert await env.balance("alice", ITEM) == 1
        assert (await env.ledger.verify()).ok


async def test_short_payment_then_refund(db_url: str) -> None:
    """Short payment: insufficient, nothing granted or posted; the refund is tracked."""
    async with payments_env(db_url) as env:
        pay = await env.payments.purchase("bob", "sword")
        env.sandbox.pay(pay.payment_intent_id, "short")
        order = await env.wait_status(pay.order_id, "insufficient_not_refunded")
        assert not order.granted
        assert order.received_amount == pay.crypto_amount // 2
        env.sandbox.refund(pay.payment_intent_id)
        order = await env.wait_status(pay.order_id, "insufficient_refunded")
        assert order.refund_amount == pay.crypto_amount // 2
        assert order.refund_tx_hash
        assert await env.balance("bob", ITEM) == 0
        assert await env.balance("bob", USDT) == 0
        assert (await env.ledger.verify()).ok


async def test_excess_payment_credits_the_difference(db_url: str) -> None:
    """Overpayment (default policy): item granted and the excess left on the token balance."""
    async with payments_env(db_url) as env:
        pay = await env.payments.purchase("carol", "sword")
        paid = env.sandbox.pay(pay.payment_intent_id, "excess")
        order = await env.wait_status(pay.order_id, "success")
        excess = paid.received_amount - pay.crypto_amount
        assert excess > 0
        assert order.granted
        assert await env.balance("carol", ITEM) == 1
        assert await env.balance("carol", USDT) == excess
        assert (await env.ledger.verify()).ok


async def test_excess_payment_kept_as_revenue_by_policy(db_url: str) -> None:
    """excess_policy=revenue: the whole payment is revenue."""
    config = PaymentsConfig(excess_policy="revenue")
    async with payments_env(db_url, config=config) as env:
        pay = await env.payments.purchase("carol", "sword")
        paid = env.sandbox.pay(pay.payment_intent_id, "excess")
        await env.wait_status(pay.order_id, "success")
        assert await env.balance("carol", USDT) == 0
        revenue = await env.ledger.balance("revenue", USDT)
        assert revenue.available == paid.received_amount


async def test_late_payment_is_credited_not_granted(db_url: str) -> None:
    """A payment on an expired intent: no item; the money goes to the player's balance."""
    async with payments_env(db_url) as env:
        pay = await env.payments.purchase("dave", "sword")
        env.sandbox.pay(pay.payment_intent_id, "exact", late=True)
        await env.settle_callbacks()
        order = await env.wait_status(pay.order_id, "expired")
        for _ in range(200):  # the late-payment callback follows the expiry one
            order = await env.order(pay.order_id)
            if order.settled_amount:
                break
            await env.settle_callbacks()
        assert not order.granted
        assert order.settled_amount == pay.crypto_amount
        assert await env.balance("dave", ITEM) == 0
        assert await env.balance("dave", USDT) == pay.crypto_amount
        # A second late payment is credited too, and replays add nothing.
        env.sandbox.pay(pay.payment_intent_id, "1")
        await env.settle_callbacks()
        intent = env.sandbox.get_intent(pay.payment_intent_id).to_model()
        await env.payments.apply(intent)
        await env.payments.apply(intent)
        assert await env.balance("dave", USDT) == pay.crypto_amount + 1_000_000
        assert (await env.ledger.verify()).ok


async def test_expired_without_payment(db_url: str) -> None:
    """An intent that expires unpaid: the order is expired, nothing posted."""
    async with payments_env(db_url) as env:
        pay = await env.payments.purchase("erin", "sword")
        env.sandbox.expire(pay.payment_intent_id)
        order = await env.wait_status(pay.order_id, "expired")
        assert not order.granted
        assert order.settled_amount == 0
        assert await env.balance("erin", ITEM) == 0


async def test_top_up_then_buy_with_balance(db_url: str) -> None:
    """A top-up credits the token; buy-with-balance is atomic and idempotent per request."""
    async with payments_env(db_url) as env:
        pay = await env.payments.top_up("fay", "10", "USD")
        assert pay.crypto_amount == 10_000_000
        env.sandbox.pay(pay.payment_intent_id, "exact")
        await env.wait_status(pay.order_id, "success")
        assert await env.balance("fay", USDT) == 10_000_000
        order = await env.payments.buy_with_balance("fay", "sword", request_id="b1")
        assert order.status is OrderStatus.COMPLETED
        same = await env.payments.buy_with_balance("fay", "sword", request_id="b1")
        assert same.id == order.id
        assert await env.balance("fay", USDT) == 5_000_000
        assert await env.balance("fay", ITEM) == 1
        await env.payments.buy_with_balance("fay", "sword", request_id="b2")
        with pytest.raises(InsufficientFunds):
            await env.payments.buy_with_balance("fay", "sword", request_id="b3")
        assert await env.balance("fay", USDT) == 0
        assert await env.balance("fay", ITEM) == 2
        assert len(list(await env.payments.orders_for("fay"))) == 3  # no order for b3
        assert (await env.ledger.verify()).ok


async def test_bad_input_is_refused_before_anything(db_url: str) -> None:
    """Unknown skus, bad fiat amounts, currencies and player ids are typed errors."""
    async with payments_env(db_url) as env:
        with pytest.raises(UnknownSku):
            await env.payments.purchase("alice", "shield")
        for amount in ("0", "-1", "1e2", "1.2.3"):
            with pytest.raises(InvalidInput):
                await env.payments.top_up("alice", amount, "USD")
        with pytest.raises(InvalidInput):
            await env.payments.top_up("alice", "10", "EUR")
        with pytest.raises(InvalidInput):
            await env.payments.purchase("has space", "sword")
        assert env.sandbox.intents() == []


async def test_top_up_under_a_cent_writes_no_order(db_url: str) -> None:
    """A top-up under KryptoGO's 0.01 minimum is refused before an order or intent exists."""
    async with payments_env(db_url) as env:
        for amount in ("0.001", "0.0099", "0.0000001"):
            with pytest.raises(AmountTooSmall):
                await env.payments.top_up("alice", amount, "USD", request_id=f"tiny-{amount}")
        assert list(await env.payments.orders_for("alice")) == []
        assert env.sandbox.intents() == []
        await env.payments.top_up("alice", "0.01", "USD", request_id="one-cent")
        assert len(env.sandbox.intents()) == 1


@pytest.mark.parametrize("sku", ["sword", "starter"])
async def test_forged_callbacks_grant_nothing(db_url: str, sku: str) -> None:
    """A forged 'success' for a pending intent is fetched back (pending): nothing granted (no
    part of a bundle); a callback for an intent the API does not know is recorded and
    acknowledged."""
    async with payments_env(db_url) as env:
        pay = await env.payments.purchase("gus", sku)
        intent = env.sandbox.get_intent(pay.payment_intent_id).to_model()
        async with httpx.AsyncClient() as http:
            forged = forged_callback(
                intent, status="success", received_amount="9.23", aggregated_amount="9.23"
            )
            answer = await http.post(env.payments.config.callback_url or "", content=forged)
            assert answer.status_code == 200
            assert answer.json()["result"] == "duplicate"
            ghost = forged_callback(intent, payment_intent_id="pi_nobody", status="success")
            answer = await http.post(env.payments.config.callback_url or "", content=ghost)
            assert answer.status_code == 200
            assert answer.json()["result"] == "unknown"
            answer = await http.post(env.payments.config.callback_url or "", content=b"{oops")
            assert answer.status_code == 400
        order = await env.order(pay.order_id)
        assert order.status is OrderStatus.PENDING
        assert not order.granted
        assert await _holds(env, "gus", sku, 0)
        assert await env.count(q.unknown_table, payment_intent_id="pi_nobody") == 1


async def test_stale_illegal_and_mismatched_updates_are_refused(db_url: str) -> None:
    """Out-of-order (stale) and illegal updates and quote mismatches: refused and recorded."""
    async with payments_env(db_url, callbacks=False) as env:
        pay = await env.payments.purchase("hal", "sword")
        pending = env.sandbox.get_intent(pay.payment_intent_id).to_model()
        env.sandbox.pay(pay.payment_intent_id, "exact")
        success = env.sandbox.get_intent(pay.payment_intent_id).to_model()
        assert (await env.payments.apply(success)).outcome is ApplyOutcome.APPLIED
        stale = await env.payments.apply(pending)
        assert stale.outcome is ApplyOutcome.REFUSED
        assert stale.reason == "stale"
        expired = pending.model_copy(update={"status": PaymentStatus.EXPIRED})
        illegal = await env.payments.apply(expired)
        assert illegal.outcome is ApplyOutcome.REFUSED
        assert illegal.reason == "illegal"
        cheap = success.model_copy(update={"crypto_amount": 1})
        mismatch = await env.payments.apply(cheap)
        assert mismatch.outcome is ApplyOutcome.REFUSED
        assert mismatch.reason == "intent_mismatch"
        assert await env.refused(pay.order_id) == 3
        assert await env.balance("hal", ITEM) == 1

        other = await env.payments.purchase("hal", "sword")
        short_success = (
            env.sandbox.get_intent(other.payment_intent_id)
            .to_model()
            .model_copy(
                update={
                    "status": PaymentStatus.SUCCESS,
                    "received_amount": 5,
                    "aggregated_amount": 5,
                }
            )
        )
        refused = await env.payments.apply(short_success)
        assert refused.outcome is ApplyOutcome.REFUSED
        assert refused.reason == "amount_short"
        assert await env.balance("hal", ITEM) == 1


async def test_unknown_outcome_create_is_resolved_through_order_data(db_url: str) -> None:
    """A create whose answer is lost after commit: found via order_data, never created twice."""
    async with payments_env(db_url) as env:
        env.sandbox.arm_timeout_after_commit("create", "504")
        pay = await env.payments.purchase("ivy", "sword", request_id="u1")
        intents = env.sandbox.intents()
        assert len(intents) == 1
        assert intents[0].payment_intent_id == pay.payment_intent_id
        order = await env.order(pay.order_id)
        assert order.status is OrderStatus.PENDING
        assert order.create_attempts == 1
        env.sandbox.pay(pay.payment_intent_id, "exact")
        await env.wait_status(pay.order_id, "success")
        assert await env.balance("ivy", ITEM) == 1


async def test_crash_after_create_leaves_creating_then_poll_links(db_url: str) -> None:
    """A crash right after the create call: the order stays creating; the poller links it."""

    def crash(point: str) -> None:
        if point == "create.after_api":
            raise RuntimeError("crash")

    async with payments_env(db_url, fault_hook=crash, callbacks=False) as env:
        with pytest.raises(RuntimeError):
            await env.payments.purchase("jay", "sword", request_id="c1")
        (order,) = await env.payments.orders_for("jay")
        assert order.status is OrderStatus.CREATING
        env.payments.fault_hook = None
        pay = await env.payments.purchase("jay", "sword", request_id="c1")  # resolves, no create
        assert len(env.sandbox.intents()) == 1
        assert pay.order_id == order.id


@pytest.mark.parametrize("sku", ["sword", "starter"])
async def test_dropped_callbacks_repaired_by_poll_and_reconcile(db_url: str, sku: str) -> None:
    """Every callback dropped: the poller and a reconciliation run catch up, once (every part
    of a bundle)."""
    faults = Faults(seed=3, drop_rate=1.0)
    config = PaymentsConfig(poll_base=0.01, poll_cap=0.02)
    async with payments_env(db_url, faults=faults, config=config) as env:
        first = await env.payments.purchase("kim", sku)
        second = await env.payments.purchase("kim", sku)
        env.sandbox.pay(first.payment_intent_id, "exact")
        env.sandbox.pay(second.payment_intent_id, "exact")
        await env.settle_callbacks()
        assert (await env.order(first.order_id)).status is OrderStatus.PENDING
        import asyncio

        await asyncio.sleep(0.05)
        report = await env.payments.poll_due()
        assert report.changed >= 1
        await env.wait_status(first.order_id, "success")
        since = int(env.sandbox.now()) - 3600
        until = int(env.sandbox.now()) + 3600
        recon = await env.payments.reconcile(since, until)
        assert recon.ok
        assert (await env.order(second.order_id)).status is OrderStatus.SUCCESS
        again = await env.payments.reconcile(since, until)
        assert again.mismatches == []
        assert again.repaired == 0
        assert await _holds(env, "kim", sku, 2)


@pytest.mark.parametrize("sku", ["sword", "starter"])
async def test_duplicated_and_reordered_callbacks(db_url: str, sku: str) -> None:
    """Duplicated and reordered callbacks are absorbed: each order (each bundle, every part)
    granted exactly once."""
    faults = Faults(seed=5, duplicate_rate=1.0, reorder=0.5)
    async with payments_env(db_url, faults=faults) as env:
        orders = [await env.payments.purchase("lee", sku) for _ in range(4)]
        for pay in orders:
            env.sandbox.pay(pay.payment_intent_id, "short", final=False)
            env.sandbox.pay(pay.payment_intent_id, "exact")
        await env.settle_callbacks()
        for pay in orders:
            await env.wait_status(pay.order_id, "success")
        assert await _holds(env, "lee", sku, 4)
        assert (await env.ledger.verify()).ok


async def test_signed_callbacks_and_replays(db_url: str) -> None:
    """With a secret: signed callbacks apply, unsigned ones are 401, a replay is ignored."""
    secret = "cb-secret"
    config = PaymentsConfig(callback_secret=secret)
    sandbox_config = SandboxConfig(seed=9, callback_secret=secret)
    async with payments_env(db_url, config=config, sandbox_config=sandbox_config) as env:
        pay = await env.payments.purchase("max", "sword")
        env.sandbox.pay(pay.payment_intent_id, "exact")
        await env.wait_status(pay.order_id, "success")
        intent = env.sandbox.get_intent(pay.payment_intent_id).to_model()
        signed = forged_callback(intent, secret=secret)
        first = await env.payments.handle_callback(signed, {})
        assert first.status == 200
        replay = await env.payments.handle_callback(signed, {})
        assert replay.status == 200
        assert replay.json()["result"] == "replay_ignored"
        unsigned = await env.payments.handle_callback(forged_callback(intent), {})
        assert unsigned.status == 401
        assert await env.balance("max", ITEM) == 1


async def test_create_attempt_in_flight_is_never_repeated(db_url: str) -> None:
    """A crash between claiming a create attempt and calling the API: a retry within the grace
    period does not create (the attempt might be in flight); after it, exactly one intent."""
    now = [datetime.now(UTC)]

    def crash(point: str) -> None:
        if point == "create.before_api":
            raise RuntimeError("crash")

    async with payments_env(db_url, fault_hook=crash, callbacks=False, clock=lambda: now[0]) as env:
        with pytest.raises(RuntimeError):
            await env.payments.purchase("kit", "sword", request_id="g1")
        env.payments.fault_hook = None
        with pytest.raises(OutcomeUnknownError):
            await env.payments.purchase("kit", "sword", request_id="g1")
        assert env.sandbox.intents() == []
        now[0] += timedelta(seconds=env.payments.config.create_grace + 1)
        pay = await env.payments.purchase("kit", "sword", request_id="g1")
        assert [i.payment_intent_id for i in env.sandbox.intents()] == [pay.payment_intent_id]
        order = await env.order(pay.order_id)
        assert order.create_attempts == 2


async def test_reconcile_reports_intents_missing_locally(db_url: str) -> None:
    """An intent of our group key that no order claims is reported and recorded, not applied."""
    async with payments_env(db_url, callbacks=False) as env:
        ghost = await env.client.create_intent(
            fiat_amount="1",
            fiat_currency="USD",
            order_data={"order_id": "ord_not_ours"},
            group_key=env.payments.config.group_key,
        )
        env.sandbox.pay(ghost.payment_intent_id, "exact")
        now = env.sandbox.now()
        report = await env.payments.reconcile(now - 60, now + 60)
        assert report.count("missing_locally") == 1
        assert not report.ok
        assert await env.count(q.unknown_table, payment_intent_id=ghost.payment_intent_id) == 1
        assert (await env.ledger.verify()).ok
