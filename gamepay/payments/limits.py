"""``max_per_player``: at most N orders of an item per player, paid or still payable.

An order of a limited item takes a slot ``0 <= n < N`` of (player, sku) in the transaction that
writes it (``reserve``; ``PurchaseLimitReached`` when all N are held, and nothing is written);
the slot table's primary key makes this race-free on both backends and across replicas. What
counts: completed buys with a balance, paid purchases and purchases still payable (``creating``
or ``pending``: a pending intent holds its slot, so N+1 intents cannot all be paid for N). An
order that can no longer be paid (``failed``, ``expired``, ``insufficient_*``) gives its slot
back (``release``).

A payment must never be lost to the limit: an order that reaches ``success`` without a slot (its
slot was given back when it failed, and its intent turned up and was paid after all) takes a
free one then (``may_grant``); when none is free, the decision credits what was paid to the
player's token balance and grants nothing (``decide(..., credit_only=True)``), the way a twin
intent's money is credited (``gamepay.payments.twins``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.core.intents import OrderKind, OrderStatus
from gamepay.errors import UnknownSku
from gamepay.payments import repository as q
from gamepay.payments.catalog import CatalogItem
from gamepay.payments.context import PaymentsContext
from gamepay.payments.errors import PurchaseLimitReached
from gamepay.payments.records import Order

__all__ = ["RELEASING", "may_grant", "release", "reserve"]

RELEASING = frozenset(
    str(s)
    for s in (
        OrderStatus.FAILED,
        OrderStatus.EXPIRED,
        OrderStatus.INSUFFICIENT_NOT_REFUNDED,
        OrderStatus.INSUFFICIENT_REFUNDED,
    )
)
"""The order statuses from which success is unreachable: the order gives its slot back."""


async def reserve(
    conn: AsyncConnection, item: CatalogItem, player_id: str, order_id: str, now: datetime
) -> None:
    """Take a slot of ``item`` for the new order ``order_id`` (nothing without a limit);
    PurchaseLimitReached when the player's orders hold all of them."""
    limit = item.max_per_player
    if limit is None:
        return
    if await q.take_slot(conn, player_id, item.sku, order_id, limit, now) is None:
        raise PurchaseLimitReached(f"at most {limit} of {item.sku!r} per player")


async def release(conn: AsyncConnection, order: Order, status: str) -> None:
    """Give back the slot of a purchase now at ``status``, if success is out of its reach."""
    if order.kind is OrderKind.PURCHASE and status in RELEASING:
        await q.release_slot(conn, order.id)


async def may_grant(
    ctx: PaymentsContext, conn: AsyncConnection, order: Order, now: datetime
) -> bool:
    """Whether the paid purchase ``order`` may grant: its item has no limit (or left the
    catalog), the order holds a slot, or it takes a free one now."""
    if order.kind is not OrderKind.PURCHASE or order.sku is None:
        return True
    try:
        limit = ctx.catalog.get(order.sku).max_per_player
    except UnknownSku:
        return True
    if limit is None or await q.slot_held(conn, order.id):
        return True
    taken = await q.take_slot(conn, order.player_id, order.sku, order.id, limit, now)
    return taken is not None
