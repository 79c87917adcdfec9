"""The payment intent model: the reference example, exact amounts, aliases, extras."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from gamepay.kryptogo.models import PaymentIntent, PaymentStatus
from gamepay.testing import intent_payload

REFERENCE = intent_payload(
    payment_intent_id="pi_123",
    client_id="client-1",
    org_id=1,
    payment_tx_hash=None,
    order_data={"order_id": "uid_12345", "item_id": "100", "customer_id": "0x03971234567890"},
    group_key="buy_stone_with_usdt",
)


def test_reference_example_parses_exactly() -> None:
    """The API reference's example becomes exact base units and round-trips to the same JSON."""
    intent = PaymentIntent.model_validate(REFERENCE)
    assert intent.crypto_amount == 9_230_000
    assert intent.status is PaymentStatus.PENDING
    assert intent.order_id == "uid_12345"
    wire = intent.to_wire()
    assert wire["crypto_amount"] == "9.23"
    assert PaymentIntent.model_validate(json.loads(json.dumps(wire))) == intent


def test_callback_aliases_and_extras_are_kept() -> None:
    """received_crypto_amount is received_amount; unknown fields survive."""
    data = dict(REFERENCE, status="success", received_crypto_amount="9.23", new_field={"x": 1})
    intent = PaymentIntent.model_validate(data)
    assert intent.received_amount == 9_230_000
    assert intent.to_wire()["new_field"] == {"x": 1}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("crypto_amount", 9.23),
        ("crypto_amount", "9.2300001"),
        ("crypto_amount", "-1"),
        ("crypto_amount", "0"),
        ("status", "paid"),
        ("fiat_currency", "EUR"),
        ("decimals", "6"),
        ("fiat_amount", "1e3"),
    ],
)
def test_bad_fields_refused(field: str, value: object) -> None:
    """Floats, inexact or negative amounts, unknown statuses and currencies are refused."""
    with pytest.raises(ValidationError):
        PaymentIntent.model_validate(dict(REFERENCE, **{field: value}))
