"""The payments' records, pure data: ``Order`` (a stored order), ``PaymentInstructions`` (what a
player pays), and ``ApplyOutcome`` / ``ApplyResult`` (what ``apply`` did with an intent)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from gamepay.core.events import Event
from gamepay.core.intents import OrderKind, OrderStatus
from gamepay.core.money import format_amount
from gamepay.errors import PaymentError
from gamepay.kryptogo.models import PaymentIntent

__all__ = ["ApplyOutcome", "ApplyResult", "Lookup", "Order", "PaymentInstructions", "StatusMove"]


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
    grant_asset_id: str | None
    grant_amount: int | None
    grant_parts: str | None
    """A bundle's parts as JSON text (``[{"asset_id", "amount"}]``), else None."""
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


@dataclass(frozen=True, slots=True)
class PaymentInstructions:
    """What the player needs to pay: exactly ``crypto_amount`` of the token to ``address``."""

    order_id: str
    payment_intent_id: str
    chain_id: str
    token_address: str
    symbol: str
    decimals: int
    address: str
    crypto_amount: int
    crypto_amount_text: str
    deadline: int
    fiat_amount: str
    fiat_currency: str

    @classmethod
    def from_order(cls, order: Order) -> PaymentInstructions:
        """Build from an order whose intent is known."""
        if (
            order.payment_intent_id is None
            or order.chain_id is None
            or order.token_address is None
            or order.symbol is None
            or order.decimals is None
            or order.crypto_amount is None
            or order.payment_address is None
            or order.payment_deadline is None
        ):
            raise PaymentError(f"order {order.id} has no payment intent yet")
        return cls(
            order_id=order.id,
            payment_intent_id=order.payment_intent_id,
            chain_id=order.chain_id,
            token_address=order.token_address,
            symbol=order.symbol,
            decimals=order.decimals,
            address=order.payment_address,
            crypto_amount=order.crypto_amount,
            crypto_amount_text=format_amount(order.crypto_amount, order.decimals),
            deadline=order.payment_deadline,
            fiat_amount=order.fiat_amount or "",
            fiat_currency=order.fiat_currency or "",
        )


class ApplyOutcome(StrEnum):
    """What ``apply`` did with an intent."""

    APPLIED = "applied"
    """The order moved (or was linked to its intent)."""
    SETTLED = "settled"
    """Same status, but new money was settled (a late payment, money after success)."""
    DUPLICATE = "duplicate"
    """Nothing new: a no-op."""
    REFUSED = "refused"
    """Stale, illegal or not matching the order: recorded in gp_refused_transitions, a no-op."""
    UNKNOWN = "unknown"
    """No local order for this intent: recorded in gp_unknown_intents."""


@dataclass(frozen=True, slots=True)
class Lookup:
    """What looking an order's intent up found: the intent (or None), and whether the scan
    read the whole list (False: it was cut short, so None proves no absence)."""

    intent: PaymentIntent | None
    complete: bool


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """The outcome of one ``apply``."""

    outcome: ApplyOutcome
    payment_intent_id: str
    order_id: str | None = None
    status_before: str | None = None
    status_after: str | None = None
    granted: bool = False
    """True when this call granted the asset (or credited the top-up)."""
    credited: int = 0
    """Net change this call made to the player's token balance (base units)."""
    reason: str | None = None
    events: tuple[Event, ...] = ()


@dataclass(frozen=True, slots=True)
class StatusMove:
    """One status move applied to an order (a row of ``gp_intent_log``)."""

    from_status: str
    to_status: str
    source: str
    note: str | None
    payment_intent_id: str | None
    created_at: datetime
