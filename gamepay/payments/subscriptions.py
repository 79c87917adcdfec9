"""``Subscriptions``: crypto subscriptions (a catalog item with ``subscription`` terms).

A payment intent cannot charge a wallet again by itself, so a renewal is a NEW purchase the
player pays. ``renew(player, sku)`` creates (or returns) the renewal's order and intent for the
next period, keyed by (player, sku, period index): its request id is
``subscription:<sku>:<index>`` (``:<attempt>`` once an earlier attempt expired or failed
unpaid), so asking twice never makes two intents for one period. What a paid order does is
decided in ``gamepay.payments.renewals`` inside the payment's own transaction: exactly once,
whatever the callbacks do, never twice for one period (a unique constraint).

``offer_due()`` writes a ``renewal_offered`` event for every subscription whose offer time
(the period end minus ``offer_before_s``) has come and whose pass has not lapsed, once per
period; ``serve``'s ``renewals`` job runs it (``GAMEPAY_RENEWAL_OFFER_S``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.bus.outbox import publish_quietly, record_events
from gamepay.core.events import Event
from gamepay.core.intents import OrderStatus
from gamepay.errors import InvalidInput, PaymentError, UnknownSku
from gamepay.payments import create
from gamepay.payments import repository as q
from gamepay.payments.context import PaymentsContext
from gamepay.payments.records import Order, PaymentInstructions
from gamepay.payments.renewals import (
    Subscription,
    due_offers,
    get_subscription,
    mark_offered,
    offer_draft,
    subscriptions_of,
)

__all__ = ["NotASubscription", "OfferReport", "Renewal", "Subscriptions", "renewal_request_id"]

MAX_ATTEMPTS = 20
"""How many unpaid attempts (expired or failed intents) one period's renewal may have."""

_UNPAID_ENDS = frozenset(
    {
        OrderStatus.EXPIRED,
        OrderStatus.FAILED,
        OrderStatus.INSUFFICIENT_REFUNDED,
        OrderStatus.INSUFFICIENT_NOT_REFUNDED,
    }
)


class NotASubscription(PaymentError):
    """The sku exists but is not sold as a subscription (it has no ``subscription`` terms)."""

    code = "not_a_subscription"


@dataclass(frozen=True, slots=True)
class Renewal:
    """The intent that pays period ``period_index`` of a subscription, and how to pay it."""

    sku: str
    period_index: int
    instructions: PaymentInstructions


@dataclass(frozen=True, slots=True)
class OfferReport:
    """What ``offer_due`` did: renewals offered now, and their events."""

    offered: int = 0
    events: tuple[Event, ...] = ()


def renewal_request_id(sku: str, index: int, attempt: int = 1) -> str:
    """The request id of attempt ``attempt`` at paying period ``index`` of ``sku``."""
    base = f"subscription:{sku}:{index}"
    return base if attempt == 1 else f"{base}:{attempt}"


def _unpaid_end(order: Order) -> bool:
    """Whether an order ended without paying (a new attempt may be made)."""
    return order.status in _UNPAID_ENDS and not order.granted


class Subscriptions:
    """Renewals and offers of crypto subscriptions, over the payments' context."""

    def __init__(self, context: PaymentsContext) -> None:
        self.context = context

    def _terms_of(self, sku: str) -> None:
        """UnknownSku, or NotASubscription for an item without subscription terms."""
        if not isinstance(sku, str):
            raise InvalidInput("sku must be a string")
        if self.context.catalog.get(sku).subscription is None:
            raise NotASubscription(f"{sku[:64]!r} is not sold as a subscription")

    async def get(self, player_id: str, sku: str) -> Subscription | None:
        """The player's subscription to ``sku`` (its latest paid period), or None."""
        return await self.context.store.read(lambda c: get_subscription(c, player_id, sku))

    async def of(self, player_id: str) -> list[Subscription]:
        """Every subscription of the player, by sku."""
        return await self.context.store.read(lambda c: subscriptions_of(c, player_id))

    async def renew(self, player_id: str, sku: str) -> Renewal:
        """The intent paying the next period of ``sku`` for the player (the first period when
        there is none yet), created once per period; UnknownSku, NotASubscription, and what
        ``Payments.purchase`` raises."""
        ctx = self.context
        create.check_player(player_id)
        self._terms_of(sku)
        current = await self.get(player_id, sku)
        index = 0 if current is None else current.period.index + 1
        for attempt in range(1, MAX_ATTEMPTS + 1):
            request_id = renewal_request_id(sku, index, attempt)

            async def find(conn: AsyncConnection, rid: str = request_id) -> Order | None:
                return await q.find_order_by_request(conn, player_id, rid)

            earlier = await ctx.store.read(find)
            if earlier is not None and _unpaid_end(earlier):
                continue
            instructions = await create.purchase(ctx, player_id, sku, request_id)
            return Renewal(sku, index, instructions)
        raise PaymentError(f"period {index} of {sku!r} had {MAX_ATTEMPTS} unpaid attempts")

    async def offer_due(self, *, limit: int = 500) -> OfferReport:
        """Offer every renewal that is due now (one ``renewal_offered`` event per subscription
        and period, also across replicas); publish the events."""
        if type(limit) is not int or not 0 < limit <= 10_000:
            raise InvalidInput("limit must be an int in 1..10000")
        ctx = self.context
        now = ctx.now()
        due = await ctx.store.read(lambda c: due_offers(c, now, limit))
        events: list[Event] = []
        for sub in due:
            try:
                item = ctx.catalog.get(sub.sku)
                price: tuple[str, str] | None = (item.price, str(item.currency))
            except UnknownSku:
                price = None  # no longer sold: marked offered, nothing sent

            async def offer(
                conn: AsyncConnection,
                sub: Subscription = sub,
                price: tuple[str, str] | None = price,
            ) -> list[Event]:
                if not await mark_offered(conn, sub) or price is None:
                    return []  # another replica offered it first, or nothing to offer
                return await record_events(conn, [offer_draft(sub, *price)], now)

            events.extend(await ctx.store.run(offer))
        await publish_quietly(ctx.publisher, events)
        return OfferReport(len(events), tuple(events))
