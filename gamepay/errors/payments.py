"""Refused purchases, top-ups and withdrawals (``PaymentError``, ``WithdrawalError``)."""

from __future__ import annotations

from gamepay.errors.base import GamepayError

__all__ = [
    "BalancePriceMissing",
    "BelowMinimum",
    "CallbackRejected",
    "IllegalTransition",
    "LimitExceeded",
    "OrderNotFound",
    "PaymentError",
    "UnknownSku",
    "WithdrawalConflict",
    "WithdrawalError",
    "WithdrawalNotFound",
    "WithdrawalsUnavailable",
]


class PaymentError(GamepayError):
    """A purchase, top-up or withdrawal was refused."""

    code = "payment_error"


class UnknownSku(PaymentError):
    """The catalog has no item with that sku."""

    code = "unknown_sku"


class OrderNotFound(PaymentError):
    """No local order with that id."""

    code = "order_not_found"


class IllegalTransition(PaymentError):
    """A status change that the state machine does not allow."""

    code = "illegal_transition"


class CallbackRejected(PaymentError):
    """A callback body or signature was refused."""

    code = "callback_rejected"


class BalancePriceMissing(PaymentError):
    """The catalog item has no balance price: it can only be bought with crypto."""

    code = "balance_price_missing"


class WithdrawalError(PaymentError):
    """A withdrawal was refused."""

    code = "withdrawal_error"


class BelowMinimum(WithdrawalError):
    """The withdrawal is below the minimum amount."""

    code = "below_minimum"


class LimitExceeded(WithdrawalError):
    """The withdrawal would exceed the player's daily limit."""

    code = "limit_exceeded"


class WithdrawalNotFound(WithdrawalError):
    """No withdrawal with that id."""

    code = "withdrawal_not_found"


class WithdrawalConflict(WithdrawalError):
    """A withdrawal request id was replayed with a different asset, amount or address."""

    code = "withdrawal_conflict"


class WithdrawalsUnavailable(WithdrawalError):
    """Withdrawals are temporarily unavailable (KryptoGO's treasury is short, 4015): the hold was
    voided, nothing moved; the player may try again later. Its message is safe to show."""

    code = "withdrawals_unavailable"

    def __init__(self, message: str = "withdrawals are temporarily unavailable; try later") -> None:
        super().__init__(message)
