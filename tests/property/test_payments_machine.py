"""Stateful test of the whole purchase lifecycle against the sandbox over real HTTP.

The machine plays KryptoGO's callback sender itself (so it can duplicate, reorder, drop and forge
callbacks deterministically) and the payer (exact, short, excess and late payments), expires and
refunds intents, runs the poller and reconciliation, and injects crashes at named points inside
(and just after) the payments transactions, followed by recovery. Invariants after every step:
nothing is granted unless the API says success, every grant happens at most once (the players'
item balances equal their granted orders, a bundle's every part), no forged callback ever grants,
the ledger verifies.
At the end, after a final reconciliation: every order is granted exactly when the API says
success, and the money settled for it equals what the API says was paid.

A one-minute subscription (``vip-min``, grace 10 s) is bought and renewed among the rest: after
every step each player's paid periods are exactly their granted ``vip-min`` orders (one period
per order, never two for one period), and they chain by the period rule (``next_period`` from
each one's payment time), so renewals on time, inside the grace and after it are all covered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from gamepay.core.subscriptions import next_period
from gamepay.errors import OutcomeUnknownError
from gamepay.kryptogo.models import PaymentIntent, PaymentStatus
from gamepay.payments import Catalog, CatalogItem, Grant, OrderStatus, PaymentsConfig
from gamepay.payments.catalog import SubscriptionTerms
from gamepay.payments.decide import paid_total
from gamepay.sandbox import SandboxConfig
from gamepay.store.schema.subscriptions import periods_table
from gamepay.testing import callback_body, forged_callback, sqlite_url
from tests.support.payments import CATALOG, PARTS, Env, payments_env

CI = os.environ.get("HYPOTHESIS_PROFILE") == "ci"
CRASH_POINTS = (
    "create.before_api",
    "create.after_api",
    "apply.after_ledger",
    "apply.after_order_update",
    "apply.after_events",
    "apply.after_commit",
)
MINUTE = SubscriptionTerms(period_s=60, grace_s=10, offer_before_s=5)
SUB_CATALOG = Catalog(
    items=(
        *CATALOG.items,
        CatalogItem(
            sku="vip-min",
            title="VIP minute",
            price="2",
            currency="USD",
            grant=Grant(kind="item", code="vip", amount=1),
            subscription=MINUTE,
        ),
    )
)
ALL_PARTS = {**PARTS, "vip-min": {"item:vip": 1}}
"""What buying each sku grants, the subscription included."""


class Crash(Exception):
    """An injected crash."""


class PaymentsMachine(RuleBasedStateMachine):
    """Purchases and top-ups under every fault, with the sandbox as the truth."""

    orders = Bundle("orders")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.stack = contextlib.AsyncExitStack()
        self.now = datetime.now(UTC)
        self.crash_at: str | None = None
        self.queue: list[bytes] = []
        self.snapshots: list[PaymentIntent] = []
        self.known: dict[str, str] = {}  # order id -> intent id
        self.pending_requests: list[tuple[str, str, str]] = []  # crashed (player, sku, request)
        self.env: Env | None = None
        self.http: httpx.AsyncClient | None = None

    def run(self, coro: Any) -> Any:
        """Run one coroutine on the machine's loop."""
        return self.loop.run_until_complete(coro)

    def hook(self, point: str) -> None:
        """The fault hook: crash once at the armed point."""
        if self.crash_at == point:
            self.crash_at = None
            raise Crash(point)

    @initialize()
    def start(self) -> None:
        """Serve the sandbox and the callback endpoint; migrate a fresh SQLite database."""
        import tempfile

        self.tmp = tempfile.TemporaryDirectory()
        url = sqlite_url(os.path.join(self.tmp.name, "gamepay.db"))
        config = PaymentsConfig(poll_base=1.0, poll_cap=4.0)

        async def enter() -> None:
            self.env = await self.stack.enter_async_context(
                payments_env(
                    url,
                    config=config,
                    sandbox_config=SandboxConfig(seed=11),
                    fault_hook=self.hook,
                    clock=lambda: self.now,
                    callbacks=False,
                    catalog=SUB_CATALOG,
                )
            )
            self.http = await self.stack.enter_async_context(httpx.AsyncClient(timeout=30))

        self.run(enter())

    def teardown(self) -> None:
        """Final reconciliation, the exactly-once checks, then stop everything."""
        try:
            if self.env is not None:
                self.crash_at = None
                self.run(self._final_checks())
        finally:
            self.run(self.stack.aclose())
            self.loop.close()
            self.tmp.cleanup()

    # -- helpers -----------------------------------------------------------------------------
    @property
    def e(self) -> Env:
        """The environment (set by ``start``)."""
        assert self.env is not None
        return self.env

    def api_intent(self, order_id: str) -> PaymentIntent:
        """What the API says about an order's intent now."""
        return self.e.sandbox.get_intent(self.known[order_id]).to_model()

    def changed(self, intent: PaymentIntent) -> None:
        """KryptoGO would send a callback for this change: queue it, keep the snapshot."""
        self.snapshots.append(intent)
        self.queue.append(json.dumps(callback_body(intent)).encode())

    async def post(self, body: bytes) -> int:
        """POST a callback body to the endpoint over real HTTP."""
        assert self.http is not None
        answer = await self.http.post(self.e.endpoint_url, content=body)
        return answer.status_code

    # -- rules -------------------------------------------------------------------------------
    @rule(
        target=orders,
        player=st.sampled_from(["ann", "ben"]),
        what=st.sampled_from(["sword", "gems-100", "starter", "vip-min", "top-up"]),
    )
    def buy(self, player: str, what: str) -> Any:
        """A purchase (of one item, or of the ``starter`` bundle) or a top-up (a crash may hit
        right after the create call)."""
        request = uuid.uuid4().hex
        try:
            if what == "top-up":
                pay = self.run(self.e.payments.top_up(player, "2", "USD", request_id=request))
            else:
                pay = self.run(self.e.payments.purchase(player, what, request_id=request))
        except Crash:
            self.pending_requests.append((player, what, request))
            return None
        self.known[pay.order_id] = pay.payment_intent_id
        return pay.order_id

    @rule(target=orders, player=st.sampled_from(["ann", "ben"]), pay=st.booleans())
    def renew(self, player: str, pay: bool) -> Any:
        """Ask for the subscription's next period (the same intent until it is paid), and
        maybe pay it at once and apply it (its callback is also queued like any other)."""
        try:
            renewal = self.run(self.e.payments.subscriptions.renew(player, "vip-min"))
        except (Crash, OutcomeUnknownError):  # retried by its request id, like a purchase
            for order in self.run(self.e.payments.orders_for(player)):
                request = order.request_id or ""
                crashed = (player, "vip-min", request)
                if (
                    order.status is OrderStatus.CREATING
                    and request.startswith("subscription:")
                    and crashed not in self.pending_requests
                ):
                    self.pending_requests.append(crashed)
            return None
        instructions = renewal.instructions
        self.known[instructions.order_id] = instructions.payment_intent_id
        intent_id = instructions.payment_intent_id
        if pay and self.e.sandbox.get_intent(intent_id).status is PaymentStatus.PENDING:
            paid = self.e.sandbox.pay(intent_id, "exact")
            self.changed(paid)  # its callback stays queued: delivered later, maybe twice
            with contextlib.suppress(Crash):  # and a first one arrives at once
                self.run(self.e.payments.apply(paid, source="callback"))
        return instructions.order_id

    @precondition(lambda self: bool(self.pending_requests))
    @rule()
    def retry_crashed_buy(self) -> None:
        """Repeat a crashed purchase with its request id: resolved by lookup, not recreated."""
        player, what, request = self.pending_requests.pop(0)
        try:
            if what == "top-up":
                pay = self.run(self.e.payments.top_up(player, "2", "USD", request_id=request))
            else:
                pay = self.run(self.e.payments.purchase(player, what, request_id=request))
        except (Crash, OutcomeUnknownError):  # an attempt may still be in flight: later
            self.pending_requests.append((player, what, request))
            return
        mine = [i for i in self.e.sandbox.intents() if i.order_id == pay.order_id]
        assert len(mine) == 1  # found (or created once), never created twice
        self.known[pay.order_id] = pay.payment_intent_id

    @rule(
        order=orders,
        how=st.sampled_from(["exact", "short", "excess", "late"]),
        final=st.booleans(),
    )
    def pay(self, order: str | None, how: str, final: bool) -> None:
        """The player pays (exactly, short, too much, or after the deadline)."""
        if order is None:
            return
        intent_id = self.known[order]
        current = self.e.sandbox.get_intent(intent_id).status
        if how == "late":
            intent = self.e.sandbox.pay(intent_id, "exact", late=True)
        elif current is PaymentStatus.PENDING:
            intent = self.e.sandbox.pay(intent_id, how, final=final)
        else:
            intent = self.e.sandbox.pay(intent_id, "1000")  # money after the fact
        self.changed(intent)

    @rule(order=orders)
    def expire(self, order: str | None) -> None:
        """The deadline passes."""
        if order is None:
            return
        self.changed(self.e.sandbox.expire(self.known[order]))

    @rule(order=orders)
    def refund(self, order: str | None) -> None:
        """KryptoGO refunds an insufficient payment."""
        if order is None:
            return
        intent_id = self.known[order]
        if self.e.sandbox.get_intent(intent_id).status is PaymentStatus.INSUFFICIENT_NOT_REFUNDED:
            self.changed(self.e.sandbox.refund(intent_id))

    @precondition(lambda self: bool(self.queue))
    @rule(data=st.data(), duplicate=st.booleans())
    def deliver(self, data: st.DataObject, duplicate: bool) -> None:
        """Deliver a queued callback (any of them: reordering), maybe keeping a duplicate."""
        index = data.draw(st.integers(0, len(self.queue) - 1))
        body = self.queue[index] if duplicate else self.queue.pop(index)
        status = self.run(self.post(body))
        assert status in (200, 500)
        if status == 500 and not duplicate:
            self.queue.append(body)  # KryptoGO retries what was not acknowledged

    @precondition(lambda self: bool(self.queue))
    @rule(data=st.data())
    def drop(self, data: st.DataObject) -> None:
        """A callback is lost."""
        self.queue.pop(data.draw(st.integers(0, len(self.queue) - 1)))

    @rule(
        order=orders,
        claim=st.sampled_from(["success", "expired", "insufficient_refunded"]),
    )
    def forge(self, order: str | None, claim: str) -> None:
        """Someone POSTs a forged callback; it is fetched back, so it can never grant."""
        if order is None:
            return
        intent = self.api_intent(order)
        amount = str(intent.crypto_amount * 3)
        body = forged_callback(intent, status=claim, received_amount=amount)
        self.run(self.post(body))

    @rule(data=st.data())
    def stale_poll_result(self, data: st.DataObject) -> None:
        """A slow poller applies an intent it fetched a while ago (stale or not)."""
        if not self.snapshots:
            return
        old = data.draw(st.sampled_from(self.snapshots))
        with contextlib.suppress(Crash):
            self.run(self.e.payments.apply(old, source="poll"))

    @rule(seconds=st.sampled_from([0, 3, 6, 40, 65]))
    def poll(self, seconds: int) -> None:
        """Time passes and the poller runs."""
        self.now += timedelta(seconds=seconds)
        with contextlib.suppress(Crash):
            self.run(self.e.payments.poll_due())

    @rule()
    def reconcile(self) -> None:
        """A reconciliation run over everything."""
        with contextlib.suppress(Crash):
            self.run(self._reconcile())

    @rule(point=st.sampled_from(CRASH_POINTS))
    def arm_crash(self, point: str) -> None:
        """The next time the code reaches ``point``, the process 'crashes'."""
        self.crash_at = point

    # -- invariants ----------------------------------------------------------------------------
    @invariant()
    def grants_only_for_success_and_at_most_once(self) -> None:
        """Granted implies the API says success; balances equal the granted orders, once each."""
        if self.env is None:
            return
        self.run(self._check_grants(final=False))

    # -- async bodies -----------------------------------------------------------------------------
    async def _reconcile(self) -> None:
        until = self.e.sandbox.now() + 3600
        await self.e.payments.reconcile(0, until)

    async def _check_grants(self, *, final: bool) -> None:
        expected: dict[tuple[str, str], int] = {}
        for player in ("ann", "ben"):
            for order in await self.e.payments.orders_for(player):
                if order.payment_intent_id is not None:
                    self.known.setdefault(order.id, order.payment_intent_id)
                api = self.api_intent(order.id) if order.payment_intent_id is not None else None
                api_success = api is not None and api.status is PaymentStatus.SUCCESS
                if order.granted:
                    assert api_success, f"{order.id} granted but the API says {api}"
                    for asset, amount in ALL_PARTS.get(order.sku or "", {}).items():
                        key = (player, asset)
                        expected[key] = expected.get(key, 0) + amount
                if final:
                    assert order.status is not OrderStatus.CREATING, order
                    assert api is not None
                    assert order.granted == api_success, (order, api)
                    assert str(order.status) == str(api.status), (order, api)
                    if api.status in (PaymentStatus.SUCCESS, PaymentStatus.EXPIRED):
                        assert order.settled_amount == max(
                            paid_total(api), api.crypto_amount if api_success else 0
                        ), (order, api)
            for asset in {asset for parts in ALL_PARTS.values() for asset in parts}:
                held = await self.e.balance(player, asset)
                assert held == expected.get((player, asset), 0), (player, asset, held)
        for intent in self.e.sandbox.intents():
            orders = [i for i in self.e.sandbox.intents() if i.order_id == intent.order_id]
            assert len(orders) == 1, "two intents for one order"
        await self._check_periods()
        report = await self.e.ledger.verify()
        assert report.ok, report.problems

    async def _check_periods(self) -> None:
        """Each granted vip-min order paid exactly one period; the periods chain by the rule."""

        async def read(conn: Any) -> list[Any]:
            query = periods_table.select().order_by(
                periods_table.c.player_id, periods_table.c.period_index
            )
            return list((await conn.execute(query)).mappings())

        rows = await self.e.store.read(read)
        for player in ("ann", "ben"):
            granted = {
                o.id
                for o in await self.e.payments.orders_for(player)
                if o.granted and o.sku == "vip-min"
            }
            mine = [r for r in rows if r["player_id"] == player]
            assert {r["order_id"] for r in mine} == granted
            assert [r["period_index"] for r in mine] == list(range(len(mine)))
            previous = None
            for row in mine:
                period = next_period(previous, row["paid_at"], MINUTE.terms)
                assert (period.start, period.end) == (row["period_start"], row["period_end"])
                previous = period
            sub = await self.e.payments.subscriptions.get(player, "vip-min")
            assert (sub is None) == (not mine)
            if sub is not None and previous is not None:
                assert sub.period == previous

    async def _final_checks(self) -> None:
        self.now += timedelta(seconds=self.e.payments.config.create_grace + 1)
        for player, what, request in self.pending_requests:
            if what == "top-up":
                await self.e.payments.top_up(player, "2", "USD", request_id=request)
            else:
                await self.e.payments.purchase(player, what, request_id=request)
        await self._reconcile()
        await self._check_grants(final=True)


PaymentsMachine.TestCase.settings = settings(
    max_examples=30 if CI else 8,
    stateful_step_count=30 if CI else 20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TestPaymentsMachine = PaymentsMachine.TestCase
