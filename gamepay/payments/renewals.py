"""What a paid purchase does beyond the ledger batch: timed grants' lots and subscription periods.

``after_grant`` runs inside ``gamepay.payments.apply``'s transaction (and buy-with-balance's),
right after the batch that granted an order's items, so it happens exactly when the grant does:
once per order, whatever the callbacks do (duplicated, reordered, late: ``decide`` grants once).

- A catalog grant with ``duration_s`` writes a lot (``gamepay.ledger.lots``) expiring that long
  after the payment was applied.
- A subscription item (``subscription`` terms) pays the NEXT period (``gamepay.core.
  subscriptions.next_period``): a row of ``gp_subscription_periods`` (UNIQUE per player, sku and
  period index, so no period is ever paid twice), the subscription row moved to it, the pass
  granted as a lot held until the period's end plus the grace, the previous pass's lot retired
  (so the player holds one pass), and a ``subscription_changed`` event.

Every statement on the subscription tables is here (``gp_subscriptions``,
``gp_subscription_periods``); the facade is ``gamepay.payments.subscriptions``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.bus.outbox import EventDraft
from gamepay.core.events import EventType
from gamepay.core.subscriptions import Period, Terms, next_period
from gamepay.core.transfers import TransferKind
from gamepay.errors import UnknownSku
from gamepay.ledger.lots import insert_lots, lot_row, retire_lot
from gamepay.payments.catalog import Catalog
from gamepay.payments.decide import Posting
from gamepay.payments.records import Order
from gamepay.store.schema.subscriptions import periods_table, subscriptions_table

__all__ = [
    "Subscription",
    "after_grant",
    "due_offers",
    "get_subscription",
    "mark_offered",
    "offer_draft",
    "subscriptions_of",
]

log = logging.getLogger("gamepay.payments.renewals")

_S = subscriptions_table.c


@dataclass(frozen=True, slots=True)
class Subscription:
    """A player's subscription to a sku: its latest paid period and its pass."""

    player_id: str
    sku: str
    period: Period
    started_at: datetime
    pass_until: datetime
    offer_at: datetime
    offered_index: int
    lot_id: str | None

    @classmethod
    def from_row(cls, row: Any) -> Subscription:
        """A subscription from a ``gp_subscriptions`` row mapping."""
        return cls(
            player_id=row["player_id"],
            sku=row["sku"],
            period=Period(int(row["period_index"]), row["period_start"], row["period_end"]),
            started_at=row["started_at"],
            pass_until=row["pass_until"],
            offer_at=row["offer_at"],
            offered_index=int(row["offered_index"]),
            lot_id=row["lot_id"],
        )

    def held(self, now: datetime) -> bool:
        """Whether the player holds the pass at ``now`` (before the end plus the grace)."""
        return now < self.pass_until

    def to_json(self) -> dict[str, Any]:
        """JSON-ready: times as ISO 8601 strings."""
        return {
            "sku": self.sku,
            "period_index": self.period.index,
            "period_start": self.period.start.isoformat(),
            "period_end": self.period.end.isoformat(),
            "pass_until": self.pass_until.isoformat(),
            "started_at": self.started_at.isoformat(),
        }


async def get_subscription(
    conn: AsyncConnection, player_id: str, sku: str, *, lock: bool = False
) -> Subscription | None:
    """The player's subscription to ``sku`` (locked if asked), or None."""
    query = select(subscriptions_table).where((_S.player_id == player_id) & (_S.sku == sku))
    if lock:
        query = query.with_for_update()
    row = (await conn.execute(query)).mappings().first()
    return None if row is None else Subscription.from_row(row)


async def subscriptions_of(conn: AsyncConnection, player_id: str) -> list[Subscription]:
    """Every subscription of a player, by sku."""
    query = select(subscriptions_table).where(_S.player_id == player_id).order_by(_S.sku)
    return [Subscription.from_row(row) for row in (await conn.execute(query)).mappings()]


async def due_offers(conn: AsyncConnection, now: datetime, limit: int) -> list[Subscription]:
    """Subscriptions whose renewal is due to be offered at ``now`` and was not yet: from the
    offer time until the pass lapses."""
    query = (
        select(subscriptions_table)
        .where((_S.offer_at <= now) & (_S.pass_until > now) & (_S.offered_index <= _S.period_index))
        .order_by(_S.offer_at, _S.player_id, _S.sku)
        .limit(limit)
    )
    return [Subscription.from_row(row) for row in (await conn.execute(query)).mappings()]


async def mark_offered(conn: AsyncConnection, sub: Subscription) -> bool:
    """Record that the renewal of ``sub``'s next period was offered; False when another
    replica did it first (nothing to send then)."""
    following = sub.period.index + 1
    result = await conn.execute(
        update(subscriptions_table)
        .where(
            (_S.player_id == sub.player_id)
            & (_S.sku == sub.sku)
            & (_S.period_index == sub.period.index)
            & (_S.offered_index < following)
        )
        .values(offered_index=following)
    )
    return bool(result.rowcount == 1)


def offer_draft(sub: Subscription, price: str, currency: str) -> EventDraft:
    """The ``renewal_offered`` event of ``sub``'s next period."""
    return EventDraft(
        sub.player_id,
        EventType.RENEWAL_OFFERED,
        {
            **sub.to_json(),
            "renewal_index": sub.period.index + 1,
            "price": price,
            "currency": currency,
        },
    )


def _grant_lots(postings: Sequence[Posting]) -> list[tuple[str, str, int]]:
    """``(lot id, asset id, amount)`` of each grant transfer of the postings (the lot id is the
    transfer's id, ``<batch id>/<index>``)."""
    return [
        (f"{posting.batch_id}/{index}", spec.asset, spec.amount)
        for posting in postings
        for index, spec in enumerate(posting.transfers)
        if spec.kind is TransferKind.GRANT
    ]


async def after_grant(
    catalog: Catalog,
    conn: AsyncConnection,
    order: Order,
    postings: Sequence[Posting],
    now: datetime,
) -> list[EventDraft]:
    """Write the lots and the subscription period of an order granted just now (in ``conn``);
    the events to record with the others (see the module docstring)."""
    if order.sku is None:
        return []
    try:
        item = catalog.get(order.sku)
    except UnknownSku:  # the sku left the catalog: granted as sold, nothing timed to know
        return []
    grants = _grant_lots(postings)
    if item.subscription is None:
        durations = {part.asset.id: part.duration_s for part in item.parts}
        rows = []
        for lot_id, asset_id, amount in grants:
            duration = durations.get(asset_id)
            if duration is not None:
                rows.append(lot_row(lot_id, order.player_id, asset_id, amount, duration, now))
        await insert_lots(conn, rows)
        return []
    terms = item.subscription.terms
    return await _pay_period(conn, order, terms, grants, now)


async def _pay_period(
    conn: AsyncConnection,
    order: Order,
    terms: Terms,
    grants: Sequence[tuple[str, str, int]],
    now: datetime,
) -> list[EventDraft]:
    """Move the subscription to the period this order pays; grant the pass as a lot."""
    assert order.sku is not None
    current = await get_subscription(conn, order.player_id, order.sku, lock=True)
    period = next_period(None if current is None else current.period, now, terms)
    until = period.pass_until(terms)
    await conn.execute(
        insert(periods_table).values(
            player_id=order.player_id,
            sku=order.sku,
            period_index=period.index,
            order_id=order.id,
            period_start=period.start,
            period_end=period.end,
            paid_at=now,
        )
    )
    rows = []
    for lot_id, asset_id, amount in grants:
        seconds = max(1, math.ceil((until - now).total_seconds()))
        rows.append(
            lot_row(lot_id, order.player_id, asset_id, amount, seconds, now, expires_at=until)
        )
    await insert_lots(conn, rows)
    if current is not None and current.lot_id is not None:
        await retire_lot(conn, current.lot_id, now)
    values = {
        "period_index": period.index,
        "period_start": period.start,
        "period_end": period.end,
        "pass_until": until,
        "offer_at": period.offer_from(terms),
        "lot_id": rows[0]["id"] if rows else None,
        "updated_at": now,
    }
    if current is None:
        await conn.execute(
            insert(subscriptions_table).values(
                player_id=order.player_id,
                sku=order.sku,
                started_at=period.start,
                offered_index=-1,
                **values,
            )
        )
    else:
        await conn.execute(
            update(subscriptions_table)
            .where((_S.player_id == order.player_id) & (_S.sku == order.sku))
            .values(**values)
        )
    log.info(
        "subscription %s of %s: period %d paid by order %s, %s to %s",
        order.sku,
        order.player_id,
        period.index,
        order.id,
        period.start.isoformat(),
        period.end.isoformat(),
    )
    payload = {
        "sku": order.sku,
        "order_id": order.id,
        "period_index": period.index,
        "period_start": period.start.isoformat(),
        "period_end": period.end.isoformat(),
        "pass_until": until.isoformat(),
    }
    return [EventDraft(order.player_id, EventType.SUBSCRIPTION_CHANGED, payload)]
