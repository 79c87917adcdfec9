"""The models and maps against the JSON examples and facts in shared/KRYPTOGO.md."""

from __future__ import annotations

import pytest

from gamepay.errors import AuthenticationError, NotFoundError
from gamepay.kryptogo import wire
from gamepay.kryptogo.errors_map import error_for_response, parse_body
from gamepay.kryptogo.models import FiatCurrency, PaymentIntent, PaymentStatus
from gamepay.kryptogo.transfers import TransferResult
from gamepay.testing import intent_payload

CREATE_EXAMPLE = (
    b'{"fiat_amount": "300.0", "fiat_currency": "TWD", "order_data": {"order_id": '
    b'"uid_12345", "item_id": "100", "customer_id": "0x03971234567890"}, "group_key": '
    b'"buy_stone_with_usdt"}'
)
RESPONSE_EXAMPLE = intent_payload(payment_intent_id="pi_example", payment_tx_hash=None)
SEED_FIELDS = [
    "payment_intent_id",
    "payment_chain_id",
    "payment_address",
    "token_address",
    "symbol",
    "decimals",
    "crypto_amount",
    "fiat_amount",
    "fiat_currency",
    "payment_deadline",
    "status",
    "payment_tx_hash",
    "received_amount",
    "aggregated_amount",
    "refund_amount",
    "refund_tx_hash",
    "callback_url",
    "order_data",
    "group_key",
]


def test_create_request_example_fields_are_the_documented_ones() -> None:
    """The create example's keys are among wire.CREATE_FIELDS and its order_data fits."""
    body, _ = parse_body(CREATE_EXAMPLE)
    assert set(body) <= set(wire.CREATE_FIELDS)
    assert wire.marshalled_length(body["order_data"]) <= wire.ORDER_DATA_MAX_CHARS
    assert FiatCurrency(body["fiat_currency"]) is FiatCurrency.TWD


def test_response_example_in_its_envelope() -> None:
    """The reference's response, in the success envelope, parses to exact units."""
    raw = (
        b'{"code": 0, "data": '
        + PaymentIntent.model_validate(RESPONSE_EXAMPLE).model_dump_json().encode()
        + b"}"
    )
    body, is_envelope = parse_body(raw)
    assert is_envelope
    assert body["code"] == wire.CODE_OK
    intent = PaymentIntent.model_validate(body["data"])
    assert intent.crypto_amount == 9_230_000
    assert intent.payment_deadline == 1733811354
    assert intent.payment_tx_hash is None
    assert intent.received_amount is None


def test_model_has_all_nineteen_seed_fields() -> None:
    """Every field the seed documents is a declared model field."""
    assert len(SEED_FIELDS) == 19
    assert set(SEED_FIELDS) <= set(PaymentIntent.model_fields)
    extras = ["client_id", "org_id", "payer_address", "payment_tx_timestamp", "aggregation_tx_hash"]
    assert set(extras) <= set(PaymentIntent.model_fields)


def test_five_statuses() -> None:
    """The five documented statuses, and only those."""
    assert {s.value for s in PaymentStatus} == {
        "pending",
        "success",
        "expired",
        "insufficient_not_refunded",
        "insufficient_refunded",
    }


def test_refunded_callback_example_with_guide_names() -> None:
    """A callback using the guide's received_crypto_amount/aggregated_crypto_amount names."""
    callback = dict(
        RESPONSE_EXAMPLE,
        status="insufficient_refunded",
        received_crypto_amount="5.1",
        aggregated_crypto_amount="5.0",
        refund_amount="5.1",
        refund_tx_hash="0x" + "ab" * 32,
        payer_address="0x03971234567890",
        payment_tx_timestamp=1733811000,
    )
    intent = PaymentIntent.model_validate(callback)
    assert intent.status is PaymentStatus.INSUFFICIENT_REFUNDED
    assert (intent.received_amount, intent.aggregated_amount) == (5_100_000, 5_000_000)
    assert intent.refund_amount == 5_100_000
    assert intent.to_wire()["received_amount"] == "5.1"


@pytest.mark.parametrize(
    ("code", "cls"),
    [(4001, AuthenticationError), (4002, AuthenticationError), (4006, NotFoundError)],
)
def test_confirmed_error_codes(code: int, cls: type[Exception]) -> None:
    """The three confirmed error codes map to their classes from their envelope."""
    body, is_envelope = parse_body(b'{"code": %d, "message": "x", "data": null}' % code)
    error = error_for_response(wire.status_for_code(code), body, is_envelope=is_envelope)
    assert type(error) is cls


def test_transfer_answer_example() -> None:
    """Our earlier (sandbox) transfer answer shape still parses, inside the envelope."""
    body, _ = parse_body(
        b'{"code": 0, "data": {"transfer_id": "t-1", "tx_hash": "0xabc", "status": "success"}}'
    )
    result = TransferResult.model_validate(body["data"])
    assert result.model_dump() == {
        "transfer_id": "t-1",
        "tx_hash": "0xabc",
        "transfer_time": None,
        "status": "success",
    }


def test_documented_transfer_answer_example() -> None:
    """The documented answer (id, tx_hash, transfer_time; no status) parses, inside the envelope."""
    body, is_envelope = parse_body(
        b'{"code": 0, "data": {"id": "1-1627380000-1", "tx_hash": "0x...", '
        b'"transfer_time": 1627380000}}'
    )
    assert is_envelope
    result = TransferResult.model_validate(body["data"])
    assert (result.transfer_id, result.tx_hash, result.status) == ("1-1627380000-1", "0x...", None)
    assert result.transfer_time is not None
    assert int(result.transfer_time.timestamp()) == 1627380000
