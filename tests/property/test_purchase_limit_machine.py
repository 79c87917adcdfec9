"""Stateful test of ``max_per_player`` against the sandbox over real HTTP, on both backends.

The machine buys a limited item with a balance and with crypto, pays, expires and late-pays
intents, and loses orders (the intent is created, then the process "crashes" before linking it
and the order is failed) whose intent is paid later. Invariants after every step: a player's
slots never exceed the limit and equal the orders that hold one (granted items plus payable
orders); nothing is granted beyond the limit; no money is lost (the player's token balance is
exactly the funding, minus the balance buys, plus every payment that was not turned into an
item: late payments and payments that found the limit reached).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from gamepay.core.intents import OrderStatus
from gamepay.payments import PurchaseLimitReached
from gamepay.payments.create import fail_order
from gamepay.payments.decide import OVER_LIMIT_NOTE, paid_total
from gamepay.sandbox import SandboxConfig
from gamepay.store.schema.payments import intent_log_table, purchase_slots_table
from gamepay.testing import sqlite_url
from tests.integration.test_purchase_limits import limited
from tests.support.ledger import migrated
from tests.support.payments import USDT, Env, payments_env

CI = os.environ.get("HYPOTHESIS_PROFILE") == "ci"
LIMIT = 2
PRICE = 1_000_000  # the relic's balance price in USDT base units
FUNDING = 20_000_000


class Crash(Exception):
    """An injected crash right after an intent was created."""


class LimitMachine(RuleBasedStateMachine):
    """Buys of a ``max_per_player`` item under expiries, late payments and lost orders."""

    url = ""
    orders = Bundle("orders")
    lost = Bundle("lost")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.stack = contextlib.AsyncExitStack()
        self.env: Env | None = None
        self.crash_next = False
        run = uuid.uuid4().hex[:8]
        self.seed = int(run, 16)
        self.players = [f"{name}-{run}" for name in ("ann", "ben")]
        self.bought = dict.fromkeys(self.players, 0)  # completed buys with a balance
        self.owners: dict[str, int] = {}  # lost intent -> its player

    def run(self, coro: Any) -> Any:
        """Run one coroutine on the machine's loop."""
        return self.loop.run_until_complete(coro)

    def hook(self, point: str) -> None:
        """Crash right after the create call when armed."""
        if self.crash_next and point == "create.after_api":
            self.crash_next = False
            raise Crash(point)

    @property
    def e(self) -> Env:
        """The environment (set by ``start``)."""
        assert self.env is not None
        return self.env

    @initialize()
    def start(self) -> None:
        """Serve the sandbox; fund both players with a top-up."""

        async def enter() -> None:
            self.env = await self.stack.enter_async_context(
                payments_env(
                    self.url,
                    catalog=limited(LIMIT),
                    fault_hook=self.hook,
                    callbacks=False,
                    # intent ids are the seed's: one database outlives many machines
                    sandbox_config=SandboxConfig(seed=self.seed),
                )
            )
            for player in self.players:
                pay = await self.e.payments.top_up(player, "20", "USD")
                self.e.sandbox.pay(pay.payment_intent_id, "exact")
                await self._apply(pay.payment_intent_id)

        self.run(enter())

    def teardown(self) -> None:
        """Stop everything."""
        try:
            self.run(self.stack.aclose())
        finally:
            self.loop.close()

    async def _apply(self, intent_id: str) -> None:
        await self.e.payments.apply(await self.e.client.get_intent(intent_id))

    # -- rules -------------------------------------------------------------------------------
    @rule(player=st.integers(0, 1))
    def buy_with_balance(self, player: int) -> None:
        """A buy with a balance: it succeeds or is refused at the limit, nothing in between."""
        name = self.players[player]
        try:
            self.run(self.e.payments.buy_with_balance(name, "relic", request_id=uuid.uuid4().hex))
        except PurchaseLimitReached:
            return
        self.bought[name] += 1

    @rule(target=orders, player=st.integers(0, 1))
    def purchase(self, player: int) -> str | None:
        """A crypto purchase: a pending intent (holding a slot), or refused at the limit."""
        try:
            pay = self.run(self.e.payments.purchase(self.players[player], "relic"))
        except PurchaseLimitReached:
            return None
        return str(pay.payment_intent_id)

    @rule(target=lost, player=st.integers(0, 1))
    def lose_an_order(self, player: int) -> str | None:
        """The intent is created but the order never links it, and is then failed."""
        name = self.players[player]
        self.crash_next = True
        try:
            self.run(self.e.payments.purchase(name, "relic", request_id=uuid.uuid4().hex))
        except PurchaseLimitReached:
            self.crash_next = False
            return None
        except Crash:
            pass
        orders = self.run(self.e.payments.orders_for(name))
        (order,) = [o for o in orders if o.status is OrderStatus.CREATING]
        assert self.run(fail_order(self.e.payments.context, order, "test: lost"))
        (intent,) = [i for i in self.e.sandbox.intents() if i.order_id == order.id]
        self.owners[str(intent.payment_intent_id)] = player
        return str(intent.payment_intent_id)

    @rule(intent=orders | lost, how=st.sampled_from(["exact", "late", "expire"]))
    def settle(self, intent: str | None, how: str) -> None:
        """Pay (in time or late) or expire an intent, then apply what the API says."""
        if intent is None or self.e.sandbox.get_intent(intent).to_model().status.value != "pending":
            return
        if how == "expire":
            self.e.sandbox.expire(intent)
        else:
            self.e.sandbox.pay(intent, "exact", late=how == "late")
        self.run(self._apply(intent))

    @rule(intent=lost)
    def pay_a_lost_intent(self, intent: str | None) -> None:
        """The player buys up to the limit with a balance, then a lost intent is paid after all:
        its order links and succeeds with no slot free, so its money is credited, not lost."""
        if intent is None:
            return
        for _ in range(LIMIT):
            self.buy_with_balance(self.owners[intent])
        self.settle(intent, "exact")

    # -- invariants ----------------------------------------------------------------------------
    @invariant()
    def the_limit_holds_and_no_money_is_lost(self) -> None:
        """Slots <= limit and = granted items + payable orders; the token balance adds up."""
        if self.env is not None:
            self.run(self._check())

    async def _check(self) -> None:
        for player in self.players:
            orders = [o for o in await self.e.payments.orders_for(player) if o.sku == "relic"]
            slots = await self.e.store.read(lambda conn, p=player: _slots(conn, p))
            items = await self.e.balance(player, "item:sword")
            payable = [o for o in orders if o.status in (OrderStatus.CREATING, OrderStatus.PENDING)]
            assert slots <= LIMIT
            assert items <= LIMIT
            assert slots == items + len(payable), (slots, items, orders)
            credited = 0
            paid_items = 0
            for order in orders:
                if order.payment_intent_id is None:
                    continue
                api = self.e.sandbox.get_intent(order.payment_intent_id).to_model()
                notes = await self.e.store.read(lambda conn, o=order.id: _notes(conn, o))
                if order.status is OrderStatus.EXPIRED or OVER_LIMIT_NOTE in notes:
                    credited += paid_total(api)
                elif order.status is OrderStatus.SUCCESS:
                    assert order.granted
                    paid_items += 1
            assert self.bought[player] + paid_items == items
            expected = FUNDING - PRICE * self.bought[player] + credited
            assert await self.e.balance(player, USDT) == expected
        assert (await self.e.ledger.verify()).ok


async def _slots(conn: Any, player: str) -> int:
    """How many ``relic`` slots ``player``'s orders hold."""
    table = purchase_slots_table
    query = select(func.count()).select_from(table).where(table.c.player_id == player)
    return int((await conn.execute(query)).scalar_one())


async def _notes(conn: Any, order_id: str) -> list[str | None]:
    """The notes of an order's status log."""
    log = intent_log_table
    return [r[0] for r in await conn.execute(select(log.c.note).where(log.c.order_id == order_id))]


SETTINGS = settings(
    max_examples=8 if CI else 4,
    stateful_step_count=20 if CI else 15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def test_limit_machine_sqlite(tmp_path: Path) -> None:
    """max_per_player holds, and no payment is lost, after every step on SQLite."""
    LimitMachine.url = migrated(sqlite_url(tmp_path / "limits.db"))
    run_state_machine_as_test(LimitMachine, settings=SETTINGS)


@pytest.mark.postgres
def test_limit_machine_postgres(pg_machine_url: str) -> None:
    """max_per_player holds, and no payment is lost, after every step on PostgreSQL."""
    LimitMachine.url = migrated(pg_machine_url)
    run_state_machine_as_test(LimitMachine, settings=SETTINGS)
