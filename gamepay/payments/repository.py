"""The payments' repository: EVERY statement on the payments' tables, as named functions.

Nothing outside this module queries ``gp_orders`` and its logs (the CLI, the demo and the metrics
call these functions too). An order is written before its payment intent is created (status
``creating``) and carries the intent's quote once it is known. ``gamepay.payments.apply`` is the
only writer of an order's status after that (``fail_creating`` gives up on an order whose intent
never appeared; ``claim_create_attempt`` and ``reschedule_poll`` touch no status).

Next to the orders live three logs: every status move applied (``gp_intent_log``), every update
refused (``gp_refused_transitions``) and every intent nobody here ordered
(``gp_unknown_intents``); and the callback replay guard (``gp_callback_signatures``). The
``max_per_player`` slots (``gp_purchase_slots``) are taken and given back here too.
Amounts are ``Amount`` columns, timestamps ``UTCDateTime``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.core.intents import OrderKind, OrderStatus
from gamepay.errors import OrderNotFound
from gamepay.payments.records import Order, StatusMove
from gamepay.store.rows import RowInsert
from gamepay.store.schema.payments import (
    callback_signatures_table,
    intent_log_table,
    orders_table,
    purchase_slots_table,
    refused_table,
    unknown_table,
)
from gamepay.store.sql import utc_day

__all__ = [
    "LOG_TEXT_LIMIT",
    "callbacks_per_day",
    "claim_create_attempt",
    "claim_signature",
    "fail_creating",
    "find_order",
    "find_order_by_intent",
    "find_order_by_request",
    "get_order",
    "insert_order",
    "list_orders",
    "log_refused",
    "log_status",
    "log_unknown",
    "order_counts",
    "order_row",
    "orders_by_kind_and_status",
    "orders_created_between",
    "orders_due",
    "orders_for_player",
    "orders_per_day",
    "release_slot",
    "reschedule_poll",
    "signature_seen",
    "slot_held",
    "slots_used",
    "status_log",
    "take_slot",
    "update_order",
]

LOG_TEXT_LIMIT = 4000
"""Bodies and intents kept in the logs are cut to this many characters."""


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


def order_row(values: Mapping[str, Any]) -> dict[str, Any]:
    """A whole ``gp_orders`` row: ``values`` (every non-null column), the defaults, NULLs."""
    row: dict[str, Any] = {c.name: None for c in orders_table.c}
    row.update(_ORDER_DEFAULTS)
    row.update(values)
    return row


async def insert_order(conn: AsyncConnection, values: Mapping[str, Any]) -> Order | None:
    """Insert one order row (the caller supplies every non-null column) and return it as
    stored; None, writing nothing, when the player already made an order with its request_id."""
    row = order_row(values)
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


async def find_order(conn: AsyncConnection, key: str) -> Order | None:
    """The order whose id or payment intent id is ``key``, or None."""
    return await _one(conn, or_(orders_table.c.id == key, orders_table.c.payment_intent_id == key))


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


async def orders_created_between(
    conn: AsyncConnection, start: datetime, end: datetime, group_key: str
) -> list[Order]:
    """The crypto orders (not buys with a balance) of ``group_key`` created in [start, end)."""
    rows = await conn.execute(
        select(orders_table).where(
            orders_table.c.created_at >= start,
            orders_table.c.created_at < end,
            orders_table.c.kind != str(OrderKind.BALANCE),
            orders_table.c.group_key == group_key,
        )
    )
    return [Order.from_row(row) for row in rows.mappings()]


async def list_orders(
    conn: AsyncConnection,
    *,
    status: OrderStatus | None = None,
    player_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Order]:
    """Orders matching every filter given (created in [since, until)), newest first, skipping
    the first ``offset``."""
    query = select(orders_table)
    if status is not None:
        query = query.where(orders_table.c.status == str(status))
    if player_id is not None:
        query = query.where(orders_table.c.player_id == player_id)
    if since is not None:
        query = query.where(orders_table.c.created_at >= since)
    if until is not None:
        query = query.where(orders_table.c.created_at < until)
    query = query.order_by(orders_table.c.created_at.desc(), orders_table.c.id)
    query = query.limit(limit).offset(offset)
    return [Order.from_row(row) for row in (await conn.execute(query)).mappings()]


async def order_counts(conn: AsyncConnection) -> list[tuple[str, str, bool, int]]:
    """How many orders there are per (kind, status, granted)."""
    o = orders_table.c
    rows = await conn.execute(
        select(o.kind, o.status, o.granted, func.count()).group_by(o.kind, o.status, o.granted)
    )
    return [(str(kind), str(status), bool(granted), int(n)) for kind, status, granted, n in rows]


def orders_per_day(since: datetime) -> Select[tuple[str, str, int]]:
    """The statement counting orders created since ``since`` per UTC day and status."""
    o = orders_table.c
    day = utc_day(o.created_at)
    return select(day, o.status, func.count()).where(o.created_at >= since).group_by(day, o.status)


def callbacks_per_day(since: datetime) -> Select[tuple[str, str, int]]:
    """The statement counting status moves applied from callbacks since ``since``, per UTC day
    and the status moved to."""
    log = intent_log_table.c
    day = utc_day(log.created_at)
    return (
        select(day, log.to_status, func.count())
        .where(log.created_at >= since, log.source == "callback")
        .group_by(day, log.to_status)
    )


async def status_log(conn: AsyncConnection, order_id: str) -> list[StatusMove]:
    """Every status move applied to an order, oldest first."""
    log = intent_log_table.c
    rows = await conn.execute(
        select(
            log.from_status,
            log.to_status,
            log.source,
            log.note,
            log.payment_intent_id,
            log.created_at,
        )
        .where(log.order_id == order_id)
        .order_by(log.id)
    )
    return [StatusMove(*row) for row in rows]


def orders_by_kind_and_status() -> Select[tuple[str, str, int]]:
    """The statement counting orders per (kind, status), rows ``(kind, status, count)``."""
    o = orders_table.c
    return select(o.kind, o.status, func.count()).group_by(o.kind, o.status)


async def claim_create_attempt(
    conn: AsyncConnection, order_id: str, attempts: int, now: datetime
) -> bool:
    """Count one more create attempt of an unlinked order that has made ``attempts``; False
    (nothing written) when another caller counted it first or the order is linked."""
    result = await conn.execute(
        update(orders_table)
        .where(
            orders_table.c.id == order_id,
            orders_table.c.create_attempts == attempts,
            orders_table.c.payment_intent_id.is_(None),
        )
        .values(create_attempts=attempts + 1, updated_at=now)
    )
    return bool(result.rowcount == 1)


async def fail_creating(
    conn: AsyncConnection, order_id: str, now: datetime, *, attempts: int | None = None
) -> bool:
    """Move a ``creating`` order with no intent to ``failed``; False when it is not one (or,
    given ``attempts``, when another create attempt was counted since)."""
    where = [
        orders_table.c.id == order_id,
        orders_table.c.status == str(OrderStatus.CREATING),
        orders_table.c.payment_intent_id.is_(None),
    ]
    if attempts is not None:
        where.append(orders_table.c.create_attempts == attempts)
    result = await conn.execute(
        update(orders_table)
        .where(*where)
        .values(status=str(OrderStatus.FAILED), next_poll_at=None, updated_at=now)
    )
    return bool(result.rowcount == 1)


async def reschedule_poll(
    conn: AsyncConnection, order_id: str, status: OrderStatus, attempts: int, at: datetime
) -> None:
    """Set the next poll of an order still at ``status`` (no-op if it moved meanwhile)."""
    await conn.execute(
        update(orders_table)
        .where(orders_table.c.id == order_id, orders_table.c.status == str(status))
        .values(poll_attempts=attempts, next_poll_at=at)
    )


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


async def signature_seen(conn: AsyncConnection, signature: str) -> bool:
    """Whether a callback with ``signature`` was already processed."""
    found = await conn.execute(
        select(callback_signatures_table.c.signature).where(
            callback_signatures_table.c.signature == signature
        )
    )
    return found.first() is not None


async def claim_signature(
    conn: AsyncConnection, *, signature: str, payment_intent_id: str, timestamp: int, now: datetime
) -> bool:
    """Record a processed callback signature; False when it was already recorded (a replay)."""
    if await signature_seen(conn, signature):
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


_INSERT_SLOT = RowInsert(
    purchase_slots_table,
    ["player_id", "sku", "slot", "order_id", "created_at"],
    conflict=("player_id", "sku", "slot"),
)


async def take_slot(
    conn: AsyncConnection, player_id: str, sku: str, order_id: str, limit: int, now: datetime
) -> int | None:
    """Give ``order_id`` a free slot ``0 <= n < limit`` of (player, sku); None when all are held.

    Each try is an INSERT that skips a taken key; on PostgreSQL it waits for a concurrent
    writer of the same key to finish, so two transactions never both get slot n.
    """
    slots = purchase_slots_table.c
    held = await conn.execute(
        select(slots.slot).where(slots.player_id == player_id, slots.sku == sku)
    )
    taken = {int(n) for n in held.scalars()}
    for slot in (n for n in range(limit) if n not in taken):
        row = {
            "player_id": player_id,
            "sku": sku,
            "slot": slot,
            "order_id": order_id,
            "created_at": now,
        }
        if await _INSERT_SLOT.insert(conn, row):
            return slot
    return None


async def slot_held(conn: AsyncConnection, order_id: str) -> bool:
    """Whether ``order_id`` holds a ``max_per_player`` slot."""
    found = await conn.execute(
        select(purchase_slots_table.c.slot).where(purchase_slots_table.c.order_id == order_id)
    )
    return found.first() is not None


async def release_slot(conn: AsyncConnection, order_id: str) -> bool:
    """Give back the slot ``order_id`` holds; False when it holds none (idempotent)."""
    result = await conn.execute(
        delete(purchase_slots_table).where(purchase_slots_table.c.order_id == order_id)
    )
    return bool(result.rowcount)


async def slots_used(conn: AsyncConnection, player_id: str, skus: Sequence[str]) -> dict[str, int]:
    """How many slots the player's orders hold, per sku of ``skus`` (absent: none)."""
    slots = purchase_slots_table.c
    rows = await conn.execute(
        select(slots.sku, func.count())
        .where(slots.player_id == player_id, slots.sku.in_(list(skus)))
        .group_by(slots.sku)
    )
    return {str(sku): int(n) for sku, n in rows}
