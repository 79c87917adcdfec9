"""The poller: asks the API about orders that are due, so a lost callback never strands an order.

``poll_due`` takes the orders whose ``next_poll_at`` has come (``creating``, ``pending`` and
``insufficient_not_refunded`` ones, most overdue first), fetches each one's intent and hands it
to ``gamepay.payments.apply``. A still-pending order backs off (``poll_delay``: ``poll_base``
doubling up to ``poll_cap``), except that an order whose deadline falls before its next poll
is polled again just after the deadline, when its intent will have moved. A ``creating`` order
is resolved by looking its intent up through ``order_data``; after ``creating_timeout`` without
one (and no create attempt in flight: ``create.creating_is_stuck``) it is ``failed``, exactly as
``reconcile`` and ``close_stuck`` do. Several pollers may run at once: ``apply`` is idempotent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from gamepay.core.intents import OrderStatus
from gamepay.errors import KryptoGOError, NotFoundError
from gamepay.payments import repository as q
from gamepay.payments.apply import apply, record_unknown
from gamepay.payments.context import PaymentsContext
from gamepay.payments.create import creating_is_stuck, fail_order, get_order, lookup_intent
from gamepay.payments.records import Order

__all__ = ["POLLED", "PollReport", "next_poll_at", "poll_delay", "poll_due"]

log = logging.getLogger("gamepay.payments.poller")

POLLED = (OrderStatus.CREATING, OrderStatus.PENDING, OrderStatus.INSUFFICIENT_NOT_REFUNDED)
"""Order statuses the poller looks at."""


@dataclass
class PollReport:
    """What one ``poll_due`` pass did."""

    polled: int = 0
    """Orders looked at."""
    changed: int = 0
    """Orders ``apply`` moved or settled."""
    still_open: int = 0
    """Orders still waiting (pending, insufficient not yet refunded, creating)."""
    resolved: int = 0
    """``creating`` orders whose intent was found and linked."""
    failed: int = 0
    """``creating`` orders given up on (no intent after ``creating_timeout``)."""
    errors: int = 0
    """Orders whose poll failed (API unreachable, ...); they are retried with backoff."""
    order_ids: list[str] = field(default_factory=list)


def poll_delay(attempts: int, *, base: float, cap: float) -> float:
    """Seconds until the next poll after ``attempts`` polls: ``base * 2**attempts``, capped."""
    if attempts < 0:
        attempts = 0
    return float(min(cap, base * (1 << min(attempts, 32))))


def next_poll_at(
    now: datetime, attempts: int, deadline: int | None, *, base: float, cap: float
) -> datetime:
    """When to poll next: backoff, but right after ``deadline`` if that comes first."""
    wait = now + timedelta(seconds=poll_delay(attempts, base=base, cap=cap))
    if deadline is not None:
        after_deadline = datetime.fromtimestamp(deadline + 1, tz=now.tzinfo)
        if now < after_deadline < wait:
            return after_deadline
    return wait


async def _reschedule(ctx: PaymentsContext, order: Order, now: datetime) -> None:
    """Push an order that is still open to its next poll (no-op if it moved meanwhile)."""
    config = ctx.config
    deadline = order.payment_deadline if order.status is OrderStatus.PENDING else None
    at = next_poll_at(
        now, order.poll_attempts, deadline, base=config.poll_base, cap=config.poll_cap
    )
    await ctx.store.run(
        lambda conn: q.reschedule_poll(conn, order.id, order.status, order.poll_attempts + 1, at)
    )


async def _poll_one(ctx: PaymentsContext, order: Order, now: datetime, report: PollReport) -> None:
    if order.status is OrderStatus.CREATING:
        found = await lookup_intent(ctx, order)
        if found.intent is not None:
            await apply(ctx, found.intent, "poll")
            report.resolved += 1
            return
        if creating_is_stuck(order, now, ctx.config):
            why = "no intent found for it through order_data"
            if await fail_order(ctx, order, why, source="poll", attempts=order.create_attempts):
                report.failed += 1
                return
        report.still_open += 1
        await _reschedule(ctx, order, now)
        return
    assert order.payment_intent_id is not None
    try:
        intent = await ctx.client.get_intent(order.payment_intent_id)
    except NotFoundError:
        await record_unknown(ctx, order.payment_intent_id, "poll", "not_found_at_api")
        report.errors += 1
        await _reschedule(ctx, order, now)
        return
    result = await apply(ctx, intent, "poll")
    if result.outcome in ("applied", "settled"):
        report.changed += 1
    after = await get_order(ctx, order.id)
    if after.status in POLLED:
        report.still_open += 1
        await _reschedule(ctx, after, now)


async def poll_due(ctx: PaymentsContext, *, limit: int | None = None) -> PollReport:
    """Poll the orders that are due now (at most ``limit``, default ``config.poll_batch``)."""
    now = ctx.now()
    batch = limit if limit is not None else ctx.config.poll_batch
    due = await ctx.store.read(lambda conn: q.orders_due(conn, POLLED, now, batch))
    report = PollReport()
    for order in due:
        report.polled += 1
        report.order_ids.append(order.id)
        try:
            await _poll_one(ctx, order, now, report)
        except KryptoGOError as exc:
            log.warning("poll of order %s failed: %s", order.id, exc)
            report.errors += 1
            await _reschedule(ctx, order, now)
    return report
