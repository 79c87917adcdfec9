"""The payments' repository: the ``Order`` record and every statement on the payments' tables.

An order is written before its payment intent is created (status ``creating``) and carries the
intent's quote once it is known. ``Payments.apply`` is the only writer of an order's status after
that. Next to the orders live three logs: every status move applied (``gp_intent_log``), every
update refused (``gp_refused_transitions``) and every intent nobody here ordered
(``gp_unknown_intents``); and the callback replay guard (``gp_callback_signatures``).
Amounts are ``Amount`` columns, timestamps ``UTCDateTime``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.core.intents import OrderKind, OrderStatus
from gamepay.errors import OrderNotFound
from gamepay.store.rows import RowInsert
from gamepay.store.schema.payments import (
    callback_signatures_table,
    intent_log_table,
    orders_table,
    refused_table,
    unknown_table,
)

__all__ = [
    "LOG_TEXT_LIMIT",
    "Order",
    "claim_signature",
    "find_order_by_intent",
    "find_order_by_request",
    "get_order",
    "insert_order",
    "log_refused",
    "log_status",
    "log_unknown",
    "orders_due",
    "orders_for_player",
    "update_order",
]

LOG_TEXT_LIMIT = 4000
"""Bodies and intents kept in the logs are cut to this many characters."""

@dataclass(frozen=True, slots=True)
class Order:
    """A local order as stored; amounts are ints of base units of the intent's token."""

    id: str
    player_id: str
    kind: OrderKind
    status: OrderStatus
    request_id: str | None
    sku: str | None
    fiat_amount: str | None
    fiat_currency: str | None
    group_key: str | None
    payment_intent_id: str | None
    chain_id: str | None
    token_address: str | None
    symbol: str | None
    decimals: int | None
    crypto_amount: int | None
    payment_address: str | None
    payment_deadline: int | None
    received_amount: int | None
    aggregated_amount: int | None
    refund_amount: int | None
    refund_tx_hash: str | None
    payment_tx_hash: str | None
    settled_amount: int
    granted: bool
    price_asset_id: str | None
    price_amount: int | None
    poll_attempts: int
    next_poll_at: datetime | None
    create_attempts: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Order:
        """Build from a ``gp_orders`` row."""
        values: dict[str, Any] = {name: row[name] for name in cls.__slots__}
        values["kind"] = OrderKind(values["kind"])
        values["status"] = OrderStatus(values["status"])
        return cls(**values)

    @property
    def token_asset_id(self) -> str | None:
        """The ledger id of the intent's token, once the intent is known."""
        if self.chain_id is None or self.token_address is None:
            return None
        return f"token:{self.chain_id}:{self.token_address.lower()}"


def _cut(text: str | None) -> str | None:
    return None if text is None else text[:LOG_TEXT_LIMIT]


_ORDER_DEFAULTS: dict[str, Any] = {
    "settled_amount": 0,
    "granted": False,
    "poll_attempts": 0,
    "create_attempts": 0,
}
_INSERT_ORDER = RowInsert(
    orders_table, [c.name for c in orders_table.c], conflict=("player_id", "request_id")
)


async def insert_order(conn: AsyncConnection, values: Mapping[str, Any]) -> Order | None:
    """Insert one order row (the caller supplies every non-null column) and return it as
    stored; None, writing nothing, when the player already made an order with its request_id."""
    row = {c.name: None for c in orders_table.c}
    row.update(_ORDER_DEFAULTS)
    row.update(values)
    if not await _INSERT_ORDER.insert(conn, row):
        return None
    return Order.from_row(row)


async def get_order(conn: AsyncConnection, order_id: str, *, lock: bool = False) -> Order:
    """The order ``order_id`` (row-locked FOR UPDATE when ``lock``); raises OrderNotFound."""
    order = await _one(conn, orders_table.c.id == order_id, lock=lock)
    if order is None:
        raise OrderNotFound(f"no order {order_id[:64]!r}")
    return order


async def find_order_by_intent(
    conn: AsyncConnection, payment_intent_id: str, *, lock: bool = False
) -> Order | None:
    """The order linked to ``payment_intent_id``, or None."""
    return await _one(conn, orders_table.c.payment_intent_id == payment_intent_id, lock=lock)


async def find_order_by_request(
    conn: AsyncConnection, player_id: str, request_id: str
) -> Order | None:
    """The order a player made with ``request_id``, or None."""
    return await _one(
        conn,
        (orders_table.c.player_id == player_id) & (orders_table.c.request_id == request_id),
    )


async def _one(conn: AsyncConnection, where: Any, *, lock: bool = False) -> Order | None:
    query = select(orders_table).where(where)
    if lock:
        query = query.with_for_update()
    row = (await conn.execute(query)).mappings().first()
    return None if row is None else Order.from_row(row)


async def update_order(conn: AsyncConnection, order_id: str, values: Mapping[str, Any]) -> None:
    """Set ``values`` on the order ``order_id``."""
    await conn.execute(update(orders_table).where(orders_table.c.id == order_id).values(**values))


async def orders_for_player(conn: AsyncConnection, player_id: str) -> list[Order]:
    """Every order of a player, oldest first."""
    rows = await conn.execute(
        select(orders_table)
        .where(orders_table.c.player_id == player_id)
        .order_by(orders_table.c.created_at, orders_table.c.id)
    )
    return [Order.from_row(row) for row in rows.mappings()]


async def orders_due(
    conn: AsyncConnection, statuses: Sequence[OrderStatus], now: datetime, limit: int
) -> list[Order]:
    """Orders in ``statuses`` whose ``next_poll_at`` is at or before ``now``, most overdue first."""
    rows = await conn.execute(
        select(orders_table)
        .where(
            orders_table.c.status.in_([str(s) for s in statuses]),
            orders_table.c.next_poll_at <= now,
        )
        .order_by(orders_table.c.next_poll_at, orders_table.c.id)
        .limit(limit)
    )
    return [Order.from_row(row) for row in rows.mappings()]


async def log_status(
    conn: AsyncConnection,
    *,
    order_id: str,
    payment_intent_id: str | None,
    from_status: str,
    to_status: str,
    source: str,
    now: datetime,
    note: str | None = None,
) -> None:
    """Record one applied status move (or an amount settlement, ``from == to``)."""
    await conn.execute(
        insert(intent_log_table).values(
            order_id=order_id,
            payment_intent_id=payment_intent_id,
            from_status=from_status,
            to_status=to_status,
            source=source,
            note=_cut(note),
            created_at=now,
        )
    )


async def log_refused(
    conn: AsyncConnection,
    *,
    order_id: str | None,
    payment_intent_id: str,
    from_status: str,
    to_status: str,
    reason: str,
    source: str,
    now: datetime,
    detail: str | None = None,
) -> None:
    """Record an update ``apply`` refused."""
    await conn.execute(
        insert(refused_table).values(
            order_id=order_id,
            payment_intent_id=payment_intent_id,
            from_status=from_status,
            to_status=to_status,
            reason=reason,
            source=source,
            detail=_cut(detail),
            created_at=now,
        )
    )


async def log_unknown(
    conn: AsyncConnection,
    *,
    payment_intent_id: str,
    source: str,
    reason: str,
    now: datetime,
    body: str | None = None,
) -> None:
    """Record an intent that names no local order."""
    await conn.execute(
        insert(unknown_table).values(
            payment_intent_id=payment_intent_id[:200],
            source=source,
            reason=reason,
            body=_cut(body),
            created_at=now,
        )
    )


async def claim_signature(
    conn: AsyncConnection, *, signature: str, payment_intent_id: str, timestamp: int, now: datetime
) -> bool:
    """Record a processed callback signature; False when it was already recorded (a replay)."""
    found = await conn.execute(
        select(callback_signatures_table.c.signature).where(
            callback_signatures_table.c.signature == signature
        )
    )
    if found.first() is not None:
        return False
    await conn.execute(
        insert(callback_signatures_table).values(
            signature=signature,
            payment_intent_id=payment_intent_id[:200],
            timestamp=timestamp,
            created_at=now,
        )
    )
    return True
