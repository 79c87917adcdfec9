"""The payment intent and its statuses as KryptoGO Studio sends them, with exact amounts.

Crypto amounts arrive as decimal strings; the model turns them into ints of base units using the
intent's own ``decimals`` and turns them back into strings on ``to_wire()``. Unknown fields are
kept (the service adds fields over time). The callback names ``received_crypto_amount`` and
``aggregated_crypto_amount`` are accepted for ``received_amount`` / ``aggregated_amount``.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_serializer,
    field_validator,
    model_validator,
)

from gamepay.core.intents import PaymentStatus
from gamepay.core.money import MAX_DECIMALS, check_amount, format_amount, parse_amount
from gamepay.errors import AmountError

__all__ = [
    "AMOUNT_FIELDS",
    "FiatCurrency",
    "PaymentIntent",
    "PaymentStatus",
]


class FiatCurrency(StrEnum):
    """The fiat currencies an intent can be priced in."""

    TWD = "TWD"
    USD = "USD"


AMOUNT_FIELDS = ("crypto_amount", "received_amount", "aggregated_amount", "refund_amount")
"""Fields holding crypto amounts: ints of base units in Python, decimal strings on the wire."""

_ALIASES = {
    "received_crypto_amount": "received_amount",
    "aggregated_crypto_amount": "aggregated_amount",
}
_FIAT = re.compile(r"[0-9]+(\.[0-9]+)?")


class PaymentIntent(BaseModel):
    """A KryptoGO payment intent: the 19 documented fields, the reference's extras, and any more."""

    model_config = ConfigDict(extra="allow", frozen=True)

    payment_intent_id: str = Field(min_length=1)
    payment_chain_id: str
    payment_address: str
    token_address: str
    symbol: str
    decimals: int = Field(ge=0, le=MAX_DECIMALS, strict=True)
    crypto_amount: int
    fiat_amount: str
    fiat_currency: FiatCurrency
    payment_deadline: int = Field(strict=True)
    status: PaymentStatus
    payment_tx_hash: str | None = None
    received_amount: int | None = None
    aggregated_amount: int | None = None
    refund_amount: int | None = None
    refund_tx_hash: str | None = None
    callback_url: str | None = None
    order_data: dict[str, Any] | None = None
    group_key: str | None = None
    # Present in the API reference's example.
    client_id: str | None = None
    org_id: int | None = None
    payer_address: str | None = None
    payment_tx_timestamp: int | None = None
    aggregation_tx_hash: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _amounts_to_units(cls, data: Any) -> Any:
        """Rename callback aliases and parse decimal-string amounts with the intent's decimals."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for alias, name in _ALIASES.items():
            if alias in data:
                value = data.pop(alias)
                data.setdefault(name, value)
        decimals = data.get("decimals")
        if type(decimals) is not int or not 0 <= decimals <= MAX_DECIMALS:
            return data  # the field validator reports it
        for name in AMOUNT_FIELDS:
            value = data.get(name)
            if value is None:
                continue
            try:
                if isinstance(value, str):
                    data[name] = parse_amount(value, decimals, allow_zero=name != "crypto_amount")
                else:
                    data[name] = check_amount(value, allow_zero=name != "crypto_amount")
            except AmountError as exc:
                raise ValueError(f"{name}: {exc.message}") from exc
        return data

    @field_validator("fiat_amount")
    @classmethod
    def _plain_fiat(cls, value: str) -> str:
        """Fiat amounts stay decimal strings, but must be plain non-negative decimals."""
        if _FIAT.fullmatch(value) is None:
            raise ValueError(f"fiat_amount must be a plain decimal string: {value[:40]!r}")
        return value

    @field_serializer(*AMOUNT_FIELDS)
    def _units_to_decimal(self, value: int | None) -> str | None:
        """Amounts leave as decimal strings at the intent's decimals."""
        return None if value is None else format_amount(value, self.decimals)

    def to_wire(self) -> dict[str, Any]:
        """Return the JSON-ready dict the API sends, amounts as decimal strings."""
        return self.model_dump(mode="json")

    @property
    def order_id(self) -> str | None:
        """The local order id carried in ``order_data["order_id"]``, if any."""
        if self.order_data is None:
            return None
        value = self.order_data.get("order_id")
        return value if isinstance(value, str) else None
