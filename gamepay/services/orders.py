"""Orders and the payment logs: tables (SQLModel, revision ``0002_payments``) and their queries.

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
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import Field, SQLModel

from gamepay.errors import OrderNotFound
from gamepay.store.rows import RowInsert
from gamepay.store.types import Amount, UTCDateTime

__all__ = [
    "LOG_TEXT_LIMIT",
    "GpCallbackSignature",
    "GpIntentLog",
    "GpOrder",
    "GpRefusedTransition",
    "GpUnknownIntent",
    "Order",
    "OrderKind",
    "OrderStatus",
    "callback_signatures_table",
    "claim_signature",
    "find_order_by_intent",
    "find_order_by_request",
    "get_order",
    "insert_order",
    "intent_log_table",
    "log_refused",
    "log_status",
    "log_unknown",
    "orders_due",
    "orders_for_player",
    "orders_table",
    "refused_table",
    "unknown_table",
    "update_order",
]

LOG_TEXT_LIMIT = 4000
"""Bodies and intents kept in the logs are cut to this many characters."""

_SEQ = BigInteger().with_variant(Integer(), "sqlite")


class OrderKind(StrEnum):
    """What an order buys: an item with crypto, a token top-up, or an item with a balance."""

    PURCHASE = "purchase"
    TOP_UP = "top_up"
    BALANCE = "balance"


class OrderStatus(StrEnum):
    """An order's status: ``creating``, the five intent statuses, ``failed`` and ``completed``.

    ``creating``: written, intent not known yet. ``failed``: the API definitely refused to create
    the intent. ``completed``: a buy-with-balance order (settled at once, no intent).
    """

    CREATING = "creating"
    PENDING = "pending"
    SUCCESS = "success"
    EXPIRED = "expired"
    INSUFFICIENT_NOT_REFUNDED = "insufficient_not_refunded"
    INSUFFICIENT_REFUNDED = "insufficient_refunded"
    FAILED = "failed"
    COMPLETED = "completed"


class GpOrder(SQLModel, table=True):
    """One purchase, top-up or buy-with-balance, with its intent's quote once known."""

    __tablename__ = "gp_orders"
    __table_args__ = (
        UniqueConstraint("player_id", "request_id", name="uq_gp_orders_player_request"),
        Index("ix_gp_orders_player_created", "player_id", "created_at"),
        Index("ix_gp_orders_status_next_poll", "status", "next_poll_at"),
        Index("ix_gp_orders_created", "created_at"),
    )

    id: str = Field(sa_column=Column(String(64), primary_key=True))
    player_id: str = Field(sa_column=Column(String(190), nullable=False))
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    status: str = Field(sa_column=Column(String(32), nullable=False))
    request_id: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    sku: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    fiat_amount: str | None = Field(default=None, sa_column=Column(String(40), nullable=True))
    fiat_currency: str | None = Field(default=None, sa_column=Column(String(8), nullable=True))
    group_key: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    payment_intent_id: str | None = Field(
        default=None, sa_column=Column(String(200), nullable=True, unique=True)
    )
    chain_id: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    token_address: str | None = Field(default=None, sa_column=Column(String(128), nullable=True))
    symbol: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    decimals: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    crypto_amount: int | None = Field(default=None, sa_column=Column(Amount, nullable=True))
    payment_address: str | None = Field(default=None, sa_column=Column(String(128), nullable=True))
    payment_deadline: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    received_amount: int | None = Field(default=None, sa_column=Column(Amount, nullable=True))
    aggregated_amount: int | None = Field(default=None, sa_column=Column(Amount, nullable=True))
    refund_amount: int | None = Field(default=None, sa_column=Column(Amount, nullable=True))
    refund_tx_hash: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    payment_tx_hash: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    settled_amount: int = Field(sa_column=Column(Amount, nullable=False))
    granted: bool = Field(sa_column=Column(Boolean, nullable=False))
    price_asset_id: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    price_amount: int | None = Field(default=None, sa_column=Column(Amount, nullable=True))
    poll_attempts: int = Field(sa_column=Column(Integer, nullable=False))
    next_poll_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    create_attempts: int = Field(sa_column=Column(Integer, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class GpIntentLog(SQLModel, table=True):
    """One status move (or amount settlement) applied to an order, and where it came from."""

    __tablename__ = "gp_intent_log"
    __table_args__ = (Index("ix_gp_intent_log_order", "order_id"),)

    id: int | None = Field(
        default=None, sa_column=Column(_SEQ, primary_key=True, autoincrement=True)
    )
    order_id: str = Field(sa_column=Column(String(64), nullable=False))
    payment_intent_id: str | None = Field(
        default=None, sa_column=Column(String(200), nullable=True)
    )
    from_status: str = Field(sa_column=Column(String(32), nullable=False))
    to_status: str = Field(sa_column=Column(String(32), nullable=False))
    source: str = Field(sa_column=Column(String(32), nullable=False))
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class GpRefusedTransition(SQLModel, table=True):
    """An update ``apply`` refused (stale, illegal, amounts or token not matching the order)."""

    __tablename__ = "gp_refused_transitions"
    __table_args__ = (Index("ix_gp_refused_order", "order_id"),)

    id: int | None = Field(
        default=None, sa_column=Column(_SEQ, primary_key=True, autoincrement=True)
    )
    order_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    payment_intent_id: str = Field(sa_column=Column(String(200), nullable=False))
    from_status: str = Field(sa_column=Column(String(32), nullable=False))
    to_status: str = Field(sa_column=Column(String(32), nullable=False))
    reason: str = Field(sa_column=Column(String(64), nullable=False))
    source: str = Field(sa_column=Column(String(32), nullable=False))
    detail: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class GpUnknownIntent(SQLModel, table=True):
    """A callback or listed intent that names no local order (or no intent at the API)."""

    __tablename__ = "gp_unknown_intents"
    __table_args__ = (Index("ix_gp_unknown_intent", "payment_intent_id"),)

    id: int | None = Field(
        default=None, sa_column=Column(_SEQ, primary_key=True, autoincrement=True)
    )
    payment_intent_id: str = Field(sa_column=Column(String(200), nullable=False))
    source: str = Field(sa_column=Column(String(32), nullable=False))
    reason: str = Field(sa_column=Column(String(64), nullable=False))
    body: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class GpCallbackSignature(SQLModel, table=True):
    """A signed callback already processed: the replay guard."""

    __tablename__ = "gp_callback_signatures"

    signature: str = Field(sa_column=Column(String(128), primary_key=True))
    payment_intent_id: str = Field(sa_column=Column(String(200), nullable=False))
    timestamp: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


def _table(name: str) -> Table:
    return SQLModel.metadata.tables[name]


orders_table = _table("gp_orders")
"""``gp_orders`` as a Core table."""
intent_log_table = _table("gp_intent_log")
"""``gp_intent_log`` as a Core table."""
refused_table = _table("gp_refused_transitions")
"""``gp_refused_transitions`` as a Core table."""
unknown_table = _table("gp_unknown_intents")
"""``gp_unknown_intents`` as a Core table."""
callback_signatures_table = _table("gp_callback_signatures")
"""``gp_callback_signatures`` as a Core table."""


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
