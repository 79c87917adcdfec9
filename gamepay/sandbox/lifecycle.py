"""The emulated service's life of one payment intent, pure: time and hashes are parameters.

Status moves follow THE intent transition table, ``gamepay.core.intents.TRANSITIONS`` (every
move is checked with its ``is_legal``); the sandbox makes each move under these conditions::

    pending                   -> success                    received >= crypto_amount
    pending                   -> expired                    deadline passed, nothing received
    pending                   -> insufficient_not_refunded  0 < received < crypto_amount, and the
                                                            deadline passed or the payment is final
    insufficient_not_refunded -> insufficient_refunded      the service refunded the payment

Payments on a pending intent accumulate (combined payments): ``received_amount`` is their total
and ``payment_tx_hash`` the last one's hash. A payment that is not ``final`` and leaves the total
short keeps the intent pending, waiting for more until the deadline. On success the total is
swept to the organization's wallet: ``aggregated_amount`` = ``received_amount`` (excess
included: an overpayment is allowed and recorded, never refused) with an ``aggregation_tx_hash``.

Late payments (policy): a payment landing on an intent that is no longer pending (an expired one
above all) never changes its status. It is recorded: ``received_amount`` grows by the amount,
``payment_tx_hash`` / ``payment_tx_timestamp`` / ``payer_address`` describe it, and the sandbox
sends a callback with the unchanged status (``SandboxConfig.notify_late_payments``). What gamepay
does with such money (credit the player, refund, ignore) is the payments service's policy.

An intent is expired when the clock is strictly past ``payment_deadline``; a payment at the
deadline second is still on time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gamepay.core.intents import is_legal
from gamepay.errors import IllegalTransition, InvalidInput
from gamepay.kryptogo.models import FiatCurrency, PaymentIntent, PaymentStatus

__all__ = [
    "Payment",
    "SandboxIntent",
    "apply_expiry",
    "apply_payment",
    "apply_refund",
    "force_expire",
]


@dataclass(frozen=True)
class Payment:
    """One on-chain payment to an intent's address."""

    amount: int
    tx_hash: str
    payer_address: str
    at: int
    late: bool


@dataclass
class SandboxIntent:
    """The sandbox's own mutable record of an intent, amounts in base units."""

    payment_intent_id: str
    seq: int
    created_at: int
    payment_chain_id: str
    payment_address: str
    token_address: str
    symbol: str
    decimals: int
    crypto_amount: int
    fiat_amount: str
    fiat_currency: FiatCurrency
    payment_deadline: int
    callback_url: str | None
    order_data: dict[str, Any] | None
    group_key: str | None
    client_id: str
    org_id: int
    status: PaymentStatus = PaymentStatus.PENDING
    received_amount: int | None = None
    payment_tx_hash: str | None = None
    payer_address: str | None = None
    payment_tx_timestamp: int | None = None
    aggregated_amount: int | None = None
    aggregation_tx_hash: str | None = None
    refund_amount: int | None = None
    refund_tx_hash: str | None = None
    payments: list[Payment] = field(default_factory=list)
    history: list[PaymentStatus] = field(default_factory=lambda: [PaymentStatus.PENDING])

    def to_model(self) -> PaymentIntent:
        """The intent as the API shows it, with the extra ``created_at`` (unix seconds)."""
        return PaymentIntent.model_validate(
            {
                "payment_intent_id": self.payment_intent_id,
                "payment_chain_id": self.payment_chain_id,
                "payment_address": self.payment_address,
                "token_address": self.token_address,
                "symbol": self.symbol,
                "decimals": self.decimals,
                "crypto_amount": self.crypto_amount,
                "fiat_amount": self.fiat_amount,
                "fiat_currency": self.fiat_currency,
                "payment_deadline": self.payment_deadline,
                "status": self.status,
                "payment_tx_hash": self.payment_tx_hash,
                "received_amount": self.received_amount,
                "aggregated_amount": self.aggregated_amount,
                "refund_amount": self.refund_amount,
                "refund_tx_hash": self.refund_tx_hash,
                "callback_url": self.callback_url,
                "order_data": self.order_data,
                "group_key": self.group_key,
                "client_id": self.client_id,
                "org_id": self.org_id,
                "payer_address": self.payer_address,
                "payment_tx_timestamp": self.payment_tx_timestamp,
                "aggregation_tx_hash": self.aggregation_tx_hash,
                "created_at": self.created_at,
            }
        )

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready dict the API sends (decimal-string amounts)."""
        return self.to_model().to_wire()


def _move(intent: SandboxIntent, new: PaymentStatus) -> None:
    if not is_legal(intent.status, new):
        raise IllegalTransition(f"{intent.payment_intent_id}: {intent.status} -> {new} refused")
    intent.status = new
    intent.history.append(new)


def _close_pending(intent: SandboxIntent) -> None:
    """Leave pending because time is up (or by force): expired, or insufficient if paid short."""
    if intent.received_amount:
        _move(intent, PaymentStatus.INSUFFICIENT_NOT_REFUNDED)
    else:
        _move(intent, PaymentStatus.EXPIRED)


def apply_expiry(intent: SandboxIntent, now: int) -> bool:
    """Close a pending intent whose deadline is strictly past ``now``; True if its status moved."""
    if intent.status is not PaymentStatus.PENDING or now <= intent.payment_deadline:
        return False
    _close_pending(intent)
    return True


def force_expire(intent: SandboxIntent) -> bool:
    """Close a pending intent now, whatever the clock says; True if its status moved."""
    if intent.status is not PaymentStatus.PENDING:
        return False
    _close_pending(intent)
    return True


def apply_payment(
    intent: SandboxIntent,
    payment: Payment,
    *,
    final: bool,
    aggregation_tx_hash: str,
) -> bool:
    """Record a payment; True if the intent's status moved.

    The caller runs ``apply_expiry`` first, so a pending intent here is within its deadline.
    On a non-pending intent the payment is recorded as late and the status is kept.
    """
    if payment.amount <= 0:
        raise InvalidInput("a payment moves a positive amount")
    intent.payments.append(payment)
    intent.received_amount = (intent.received_amount or 0) + payment.amount
    intent.payment_tx_hash = payment.tx_hash
    intent.payer_address = payment.payer_address
    intent.payment_tx_timestamp = payment.at
    if intent.status is not PaymentStatus.PENDING:
        return False
    if intent.received_amount >= intent.crypto_amount:
        intent.aggregated_amount = intent.received_amount
        intent.aggregation_tx_hash = aggregation_tx_hash
        _move(intent, PaymentStatus.SUCCESS)
        return True
    if final:
        _move(intent, PaymentStatus.INSUFFICIENT_NOT_REFUNDED)
        return True
    return False


def apply_refund(intent: SandboxIntent, amount: int | None, tx_hash: str) -> None:
    """Refund an insufficient payment (all of it by default); raises IllegalTransition otherwise."""
    if intent.status is not PaymentStatus.INSUFFICIENT_NOT_REFUNDED:
        raise IllegalTransition(
            f"{intent.payment_intent_id} is {intent.status}; only an insufficient payment "
            "can be refunded"
        )
    received = intent.received_amount or 0
    refund = received if amount is None else amount
    if not 0 < refund <= received:
        raise InvalidInput(f"refund must be in 1..{received} base units")
    _move(intent, PaymentStatus.INSUFFICIENT_REFUNDED)
    intent.refund_amount = refund
    intent.refund_tx_hash = tx_hash
