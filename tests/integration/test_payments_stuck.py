"""Orders stuck in ``creating`` (a crash around the create call): the timeout, reconcile, the
poller and ``close_stuck`` close them exactly once, and never one whose intent exists. Both
backends, against the sandbox over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gamepay.payments import OrderStatus, PaymentsConfig
from gamepay.payments import repository as q
from gamepay.payments.reconcile import MismatchOutcome
from tests.support.payments import payments_env

TIMEOUT = 600.0
GRACE = 30.0


class StepClock:
    """A clock the test moves forward by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        """The current test time."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += timedelta(seconds=seconds)


def crash_at(point: str) -> object:
    """A fault hook that crashes the process at ``point``."""

    def hook(at: str) -> None:
        if at == point:
            raise RuntimeError(f"crash at {at}")

    return hook


CONFIG = PaymentsConfig(creating_timeout=TIMEOUT, create_grace=GRACE)


def window(clock: StepClock) -> tuple[datetime, datetime]:
    """A reconciliation window around everything the test made (real and test time)."""
    start = min(clock.now, datetime.now(UTC)) - timedelta(hours=1)
    return start, max(clock.now, datetime.now(UTC)) + timedelta(hours=1)


async def test_reconcile_closes_a_stuck_creating_order_after_the_timeout(db_url: str) -> None:
    """A crash before the create call: reconcile waits until the timeout, then closes the order
    once (failed, logged as reconcile), and says so as repaired."""
    clock = StepClock()
    async with payments_env(
        db_url, config=CONFIG, clock=clock, fault_hook=crash_at("create.before_api")
    ) as env:
        with pytest.raises(RuntimeError):
            await env.payments.purchase("ann", "sword", request_id="s1")
        (order,) = await env.payments.orders_for("ann")
        assert order.status is OrderStatus.CREATING
        assert env.sandbox.intents() == []

        report = await env.payments.reconcile(*window(clock))
        (young,) = report.mismatches
        assert (young.kind, young.order_id, young.outcome) == (
            "stuck_creating",
            order.id,
            MismatchOutcome.WAITING,
        )
        assert report.ok
        assert (await env.order(order.id)).status is OrderStatus.CREATING

        clock.advance(TIMEOUT + 1)
        report = await env.payments.reconcile(*window(clock))
        (closed,) = report.mismatches
        assert (closed.kind, closed.outcome) == ("stuck_creating", MismatchOutcome.REPAIRED)
        assert report.ok
        assert report.repaired == 1
        assert report.outcomes() == {"repaired": 1, "operator": 0, "error": 0, "waiting": 0}
        assert (await env.order(order.id)).status is OrderStatus.FAILED
        assert await env.count(q.intent_log_table, order_id=order.id, source="reconcile") == 1

        again = await env.payments.reconcile(*window(clock))
        assert again.mismatches == []
        assert await env.count(q.intent_log_table, order_id=order.id) == 1


async def test_a_create_attempt_in_flight_is_never_closed(db_url: str) -> None:
    """An order past the timeout whose create attempt is younger than create_grace may still
    get its intent: it waits; once the attempt is over, it is closed."""
    clock = StepClock()
    async with payments_env(
        db_url, config=CONFIG, clock=clock, fault_hook=crash_at("create.before_api")
    ) as env:
        with pytest.raises(RuntimeError):
            await env.payments.purchase("bea", "sword", request_id="s1")
        clock.advance(TIMEOUT + 1)
        with pytest.raises(RuntimeError):  # the player retries: attempt 2 starts now
            await env.payments.purchase("bea", "sword", request_id="s1")
        (order,) = await env.payments.orders_for("bea")
        assert order.create_attempts == 2
        clock.advance(GRACE - 1)
        report = await env.payments.close_stuck()
        assert [o.action for o in report.orders] == ["waiting"]
        assert (await env.order(order.id)).status is OrderStatus.CREATING
        clock.advance(2)
        report = await env.payments.close_stuck()
        assert [o.action for o in report.orders] == ["closed"]
        assert (await env.order(order.id)).status is OrderStatus.FAILED


async def test_close_stuck_links_an_existing_intent_and_closes_only_the_rest(db_url: str) -> None:
    """close_stuck looks every intent up first: the order whose intent exists is linked (and
    pays out later), the one without is closed, a young one waits; --dry-run writes nothing."""
    clock = StepClock()
    async with payments_env(db_url, config=CONFIG, clock=clock, callbacks=False) as env:
        env.payments.fault_hook = crash_at("create.after_api")
        with pytest.raises(RuntimeError):
            await env.payments.purchase("cat", "sword", request_id="a")
        clock.advance(1)
        env.payments.fault_hook = crash_at("create.before_api")
        with pytest.raises(RuntimeError):
            await env.payments.purchase("dan", "sword", request_id="b")
        clock.advance(TIMEOUT + 1)
        with pytest.raises(RuntimeError):
            await env.payments.top_up("eve", "5", "USD", request_id="c")
        env.payments.fault_hook = None
        clock.advance(GRACE + 1)

        dry = await env.payments.close_stuck(dry_run=True)
        assert dry.dry_run
        assert [(o.player_id, o.action) for o in dry.orders] == [
            ("cat", "linked"),
            ("dan", "closed"),
            ("eve", "waiting"),
        ]
        assert (await env.payments.orders_for("cat"))[0].status is OrderStatus.CREATING
        assert (await env.payments.orders_for("dan"))[0].status is OrderStatus.CREATING

        done = await env.payments.close_stuck()
        assert [(o.player_id, o.action) for o in done.orders] == [
            ("cat", "linked"),
            ("dan", "closed"),
            ("eve", "waiting"),
        ]
        assert done.ok
        (cat,) = await env.payments.orders_for("cat")
        assert cat.status is OrderStatus.PENDING
        assert cat.payment_intent_id == env.sandbox.intents()[0].payment_intent_id
        assert (await env.payments.orders_for("dan"))[0].status is OrderStatus.FAILED
        assert (await env.payments.orders_for("eve"))[0].status is OrderStatus.CREATING
        assert len(env.sandbox.intents()) == 1

        env.sandbox.pay(cat.payment_intent_id, "exact")
        await env.payments.reconcile(*window(clock))
        assert await env.balance("cat", "item:sword") == 1
        assert (await env.ledger.verify()).ok


async def test_the_poller_applies_the_same_timeout(db_url: str) -> None:
    """The poller closes a stuck creating order only after the timeout, like reconcile."""
    clock = StepClock()
    config = CONFIG.model_copy(update={"poll_base": 1.0, "poll_cap": 5.0})
    async with payments_env(
        db_url, config=config, clock=clock, fault_hook=crash_at("create.before_api")
    ) as env:
        with pytest.raises(RuntimeError):
            await env.payments.purchase("fox", "sword", request_id="p")
        (order,) = await env.payments.orders_for("fox")
        clock.advance(GRACE + 1)
        report = await env.payments.poll_due()
        assert (report.polled, report.failed, report.still_open) == (1, 0, 1)
        assert (await env.order(order.id)).status is OrderStatus.CREATING
        clock.advance(TIMEOUT)
        report = await env.payments.poll_due()
        assert (report.polled, report.failed) == (1, 1)
        assert (await env.order(order.id)).status is OrderStatus.FAILED
        assert await env.count(q.intent_log_table, order_id=order.id, source="poll") == 1
