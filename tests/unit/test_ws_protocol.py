"""Protocol v1 parsing: every operation validates, and hostile frames get typed errors."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gamepay_ws.protocol import CLIENT_TYPES, parse_message

KNOWN_CODES = {
    "bad_json",
    "bad_message",
    "unknown_type",
    "amount_type",
    "amount_format",
}


@pytest.mark.parametrize(
    ("frame", "kind"),
    [
        ({"type": "authenticate", "id": 1, "token": "t", "last_event_id": 5}, "Authenticate"),
        ({"type": "catalog", "id": "c"}, "CatalogRequest"),
        ({"type": "balance", "id": 2}, "BalanceRequest"),
        (
            {"type": "buy_with_balance", "id": 3, "sku": "sword", "request_id": "u-1"},
            "BuyWithBalance",
        ),
        ({"type": "buy_with_crypto", "id": 4, "sku": "sword"}, "BuyWithCrypto"),
        ({"type": "top_up", "id": 5, "amount": "9.99", "currency": "USD"}, "TopUp"),
        (
            {
                "type": "withdraw",
                "id": 6,
                "asset": "token:arb:0xa",
                "amount": "1",
                "address": "0x1",
            },
            "Withdraw",
        ),
        ({"type": "history", "id": 7, "after": 3, "limit": 10}, "HistoryRequest"),
        ({"type": "ping", "id": 8}, "Ping"),
    ],
)
def test_every_operation_parses(frame: dict[str, object], kind: str) -> None:
    """Each documented operation parses into its model and echoes its id."""
    message, request_id, error = parse_message(json.dumps(frame))
    assert error is None
    assert type(message).__name__ == kind
    assert request_id == frame["id"]


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b"\xff\xfe", "bad_json"),
        ("{not json", "bad_json"),
        ("[" * 50_000, "bad_json"),
        ("[1, 2]", "bad_message"),
        ('{"id": 1}', "bad_message"),
        ('{"type": "steal_gold", "id": 1}', "unknown_type"),
        ('{"type": "ping", "id": 1, "player_id": "bob"}', "bad_message"),
        ('{"type": "ping", "id": true}', "bad_message"),
        ('{"type": "ping", "id": 1.5}', "bad_message"),
        ('{"type": "top_up", "id": 1, "amount": 9.99, "currency": "USD"}', "amount_type"),
        ('{"type": "top_up", "id": 1, "amount": 10, "currency": "USD"}', "amount_type"),
        ('{"type": "top_up", "id": 1, "amount": "-1", "currency": "USD"}', "amount_format"),
        ('{"type": "top_up", "id": 1, "amount": "1e3", "currency": "USD"}', "amount_format"),
        ('{"type": "top_up", "id": 1, "amount": "1", "currency": "EUR"}', "bad_message"),
        (
            '{"type": "withdraw", "id": 1, "asset": "a", "amount": 1.0, "address": "x"}',
            "amount_type",
        ),
        ('{"type": "history", "id": 1, "limit": "5"}', "bad_message"),
        ('{"type": "history", "id": 1, "limit": 1000}', "bad_message"),
        ('{"type": "authenticate", "id": 1, "token": "t", "last_event_id": -1}', "bad_message"),
        ('{"type": "buy_with_balance", "id": 1, "sku": "s", "request_id": "a b"}', "bad_message"),
    ],
)
def test_hostile_frames_get_typed_errors(frame: str | bytes, code: str) -> None:
    """Each kind of bad input maps to its documented error code."""
    message, _, error = parse_message(frame)
    assert message is None
    assert error is not None
    assert error.code == code


def test_error_echoes_the_id_when_it_is_valid() -> None:
    """A refused message with a usable id gets that id back; without one, null."""
    assert parse_message('{"type": "nope", "id": "abc"}')[1] == "abc"
    assert parse_message('{"type": "nope", "id": {"x": 1}}')[1] is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(
    type_=st.sampled_from([*CLIENT_TYPES, "x", ""]) | st.text(max_size=10),
    fields=st.dictionaries(
        st.sampled_from(["id", "token", "sku", "amount", "currency", "asset", "address", "limit"])
        | st.text(max_size=8),
        json_values,
        max_size=6,
    ),
)
def test_any_object_parses_or_gets_a_known_code(type_: str, fields: dict[str, object]) -> None:
    """Whatever object arrives, parsing returns a message or a typed error, never raises."""
    message, _, error = parse_message(json.dumps({"type": type_, **fields}))
    assert (message is None) != (error is None)
    if error is not None:
        assert error.code in KNOWN_CODES


@given(st.binary(max_size=200))
def test_any_bytes_never_raise(raw: bytes) -> None:
    """Random bytes yield a typed error or (rarely) a valid message, never an exception."""
    message, _, error = parse_message(raw)
    assert (message is None) != (error is None)
