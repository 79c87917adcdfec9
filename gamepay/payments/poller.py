"""The poller: asks the API about orders that are due, so a lost callback never strands an order.

``poll_due`` takes the orders whose ``next_poll_at`` has come (``creating``, ``pending`` and
``insufficient_not_refunded`` ones, most overdue first), fetches each one's intent and hands it to
``Payments.apply``. A still-pending order backs off (``poll_delay``: ``poll_base`` doubling up to
``poll_cap``), except that an order whose deadline falls before its next poll is polled again
just after the deadline, when its intent will have moved. A ``creating`` order is resolved by
looking its intent up through ``order_data``; after ``creating_timeout`` without one it is
``failed``. Several pollers may run at once: ``apply`` is idempotent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.core.intents import OrderStatus
from gamepay.errors import KryptoGOError, NotFoundError
from gamepay.payments import orders as q
from gamepay.payments.orders import Order
from gamepay.store.schema.payments import orders_table

if TYPE_CHECKING:
    from gamepay.payments.service import Payments

__all__ = ["PollReport", "next_poll_at", "poll_delay", "poll_due"]

log = logging.getLogger("gamepay.payments.poller")


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


async def _reschedule(payments: Payments, order: Order, now: datetime) -> None:
    """Push an order that is still open to its next poll (no-op if it moved meanwhile)."""
    config = payments.config
    attempts = order.poll_attempts + 1
    deadline = order.payment_deadline if order.status is OrderStatus.PENDING else None
    at = next_poll_at(
        now, order.poll_attempts, deadline, base=config.poll_base, cap=config.poll_cap
    )
    table = orders_table

    async def write(conn: AsyncConnection) -> None:
        await conn.execute(
            update(table)
            .where(table.c.id == order.id, table.c.status == str(order.status))
            .values(poll_attempts=attempts, next_poll_at=at)
        )

    await payments.store.run(write)


async def _poll_one(payments: Payments, order: Order, now: datetime, report: PollReport) -> None:
    if order.status is OrderStatus.CREATING:
        found = await payments.lookup_intent(order)
        if found is not None:
            await payments.apply(found, source="poll")
            report.resolved += 1
            return
        age = (now - order.created_at).total_seconds()
        if age >= payments.config.creating_timeout:
            await payments.fail_order(order, "no intent found for it through order_data")
            report.failed += 1
            return
        report.still_open += 1
        await _reschedule(payments, order, now)
        return
    assert order.payment_intent_id is not None
    try:
        intent = await payments.client.get_intent(order.payment_intent_id)
    except NotFoundError:
        await payments.record_unknown(order.payment_intent_id, "poll", "not_found_at_api")
        report.errors += 1
        await _reschedule(payments, order, now)
        return
    result = await payments.apply(intent, source="poll")
    if result.outcome in ("applied", "settled"):
        report.changed += 1
    after = await payments.order(order.id)
    if after.status in payments.polled_statuses():
        report.still_open += 1
        await _reschedule(payments, after, now)


async def poll_due(payments: Payments, *, limit: int | None = None) -> PollReport:
    """Poll the orders that are due now (at most ``limit``, default ``config.poll_batch``)."""
    now = payments.now()
    batch = limit if limit is not None else payments.config.poll_batch
    due = await payments.run_read(
        lambda conn: q.orders_due(conn, payments.polled_statuses(), now, batch)
    )
    report = PollReport()
    for order in due:
        report.polled += 1
        report.order_ids.append(order.id)
        try:
            await _poll_one(payments, order, now, report)
        except KryptoGOError as exc:
            log.warning("poll of order %s failed: %s", order.id, exc)
            report.errors += 1
            await _reschedule(payments, order, now)
    return report
