"""Payment intents survive JSON exactly: generated intents, amounts up to 2**256-1, any decimals."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gamepay.core.money import MAX_AMOUNT, format_amount
from gamepay.kryptogo.models import FiatCurrency, PaymentIntent, PaymentStatus

text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
hex_hash = st.binary(min_size=32, max_size=32).map(lambda b: "0x" + b.hex())


@st.composite
def wire_intents(draw: st.DrawFn) -> dict[str, Any]:
    """A payment intent as the API would send it (amounts as decimal strings)."""
    decimals = draw(st.integers(0, 77))

    def amount(allow_zero: bool) -> str:
        return format_amount(draw(st.integers(0 if allow_zero else 1, MAX_AMOUNT)), decimals)

    def maybe(strategy: st.SearchStrategy[Any]) -> Any:
        return draw(st.none() | strategy)

    data: dict[str, Any] = {
        "payment_intent_id": draw(text.filter(bool)),
        "payment_chain_id": draw(st.sampled_from(["arb", "eth", "matic", "bsc", "tron", "sol"])),
        "payment_address": draw(text),
        "token_address": draw(text),
        "symbol": draw(text),
        "decimals": decimals,
        "crypto_amount": amount(False),
        "fiat_amount": draw(st.from_regex(r"[0-9]{1,12}(\.[0-9]{1,4})?", fullmatch=True)),
        "fiat_currency": draw(st.sampled_from(FiatCurrency)).value,
        "payment_deadline": draw(st.integers(0, 2**40)),
        "status": draw(st.sampled_from(PaymentStatus)).value,
        "payment_tx_hash": maybe(hex_hash),
        "received_amount": amount(True) if draw(st.booleans()) else None,
        "aggregated_amount": amount(True) if draw(st.booleans()) else None,
        "refund_amount": amount(True) if draw(st.booleans()) else None,
        "refund_tx_hash": maybe(hex_hash),
        "callback_url": maybe(st.just("https://game.example/cb")),
        "order_data": maybe(st.dictionaries(text, json_values, max_size=4)),
        "group_key": maybe(text),
        "client_id": maybe(text),
        "org_id": maybe(st.integers(0, 2**31)),
        "payer_address": maybe(text),
        "payment_tx_timestamp": maybe(st.integers(0, 2**40)),
        "aggregation_tx_hash": maybe(hex_hash),
    }
    if draw(st.booleans()):
        data["created_at"] = draw(st.integers(0, 2**40))
    if draw(st.booleans()):
        data["future_field"] = draw(json_values)
    return data


@given(wire_intents())
def test_intent_round_trips_through_json(data: dict[str, Any]) -> None:
    """parse(JSON) -> to_wire -> JSON -> parse gives the same intent and the same JSON."""
    intent = PaymentIntent.model_validate(json.loads(json.dumps(data)))
    wire = intent.to_wire()
    assert wire == data  # exact decimal strings, extras kept, nothing added or lost
    again = PaymentIntent.model_validate_json(json.dumps(wire))
    assert again == intent
    assert PaymentIntent.model_validate_json(intent.model_dump_json()) == intent


@given(wire_intents())
def test_amounts_are_exact_base_units(data: dict[str, Any]) -> None:
    """Each amount parses to the int whose decimal string the API sent."""
    intent = PaymentIntent.model_validate(data)
    assert type(intent.crypto_amount) is int
    assert format_amount(intent.crypto_amount, intent.decimals) == data["crypto_amount"]
    for name in ("received_amount", "aggregated_amount", "refund_amount"):
        value = getattr(intent, name)
        if data[name] is None:
            assert value is None
        else:
            assert format_amount(value, intent.decimals) == data[name]
