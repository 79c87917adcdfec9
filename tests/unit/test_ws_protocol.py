"""Protocol 2 parsing: every operation validates, and hostile frames get typed errors."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gamepay_ws.protocol import CLIENT_TYPES, Authenticate, error_reply, parse_message

KNOWN_CODES = {
    "bad_json",
    "bad_message",
    "unknown_type",
    "amount_type",
    "amount_format",
    "request_id_required",
    "token_rejected",
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
        ({"type": "buy_with_crypto", "id": 4, "sku": "sword", "request_id": "k"}, "BuyWithCrypto"),
        (
            {"type": "top_up", "id": 5, "amount": "9.99", "currency": "USD", "request_id": "k"},
            "TopUp",
        ),
        (
            {
                "type": "withdraw",
                "id": 6,
                "asset": "token:arb:0xa",
                "amount": "1",
                "address": "0x1",
                "request_id": "k",
            },
            "Withdraw",
        ),
        ({"type": "history", "id": 7, "after": 3, "limit": 10}, "HistoryRequest"),
        ({"type": "ping", "id": 8}, "Ping"),
        (
            {
                "type": "trade_offer",
                "id": 9,
                "to_player": "bob",
                "give": [{"asset": "item:sword", "amount": "1"}],
                "want": [{"asset": "currency:gold", "amount": "2.5"}],
                "expires_in": 60,
                "request_id": "k",
            },
            "TradeOffer",
        ),
        ({"type": "trade_accept", "id": 10, "trade_id": "t", "request_id": "k"}, "TradeAccept"),
        ({"type": "trade_decline", "id": 11, "trade_id": "t", "request_id": "k"}, "TradeDecline"),
        ({"type": "trade_cancel", "id": 12, "trade_id": "t", "request_id": "k"}, "TradeCancel"),
        ({"type": "trade_list", "id": 13, "open_only": False, "limit": 5}, "TradeList"),
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
        (
            '{"type": "top_up", "id": 1, "amount": "1", "currency": "EUR", "request_id": "k"}',
            "bad_message",
        ),
        (
            '{"type": "withdraw", "id": 1, "asset": "a", "amount": 1.0, "address": "x"}',
            "amount_type",
        ),
        ('{"type": "history", "id": 1, "limit": "5"}', "bad_message"),
        ('{"type": "history", "id": 1, "limit": 1000}', "bad_message"),
        ('{"type": "authenticate", "id": 1, "token": "t", "last_event_id": -1}', "bad_message"),
        ('{"type": "buy_with_balance", "id": 1, "sku": "s", "request_id": "a b"}', "bad_message"),
        ('{"type": "buy_with_balance", "id": 1, "sku": "s"}', "request_id_required"),
        ('{"type": "buy_with_crypto", "id": 1, "sku": "s"}', "request_id_required"),
        ('{"type": "top_up", "id": 1, "amount": "1", "currency": "USD"}', "request_id_required"),
        (
            '{"type": "withdraw", "id": 1, "asset": "a", "amount": "1", "address": "x"}',
            "request_id_required",
        ),
        ('{"type": "ping", "type": "balance", "id": 1}', "bad_json"),
        ('{"type": "ping", "id": 1, "x": {"a": 1, "a": 2}}', "bad_json"),
        ('{"type": "ping", "id": NaN}', "bad_json"),
        ('{"type": "ping", "id": -Infinity}', "bad_json"),
        ('{"type": "ping", "id": 1e400}', "bad_json"),
        ('{"type": "authenticate", "id": 1, "token": 5}', "token_rejected"),
        ('{"type": "authenticate", "id": 1}', "token_rejected"),
        (
            '{"type": "buy_with_balance", "id": 1, "sku": "\\ud800", "request_id": "k"}',
            "bad_message",
        ),
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


@pytest.mark.parametrize("surrogate", ["\\ud800", "\\udfff", "a\\udc00b"])
def test_a_lone_surrogate_id_is_unreadable_and_its_error_serializes(surrogate: str) -> None:
    """An id holding a lone surrogate is null in the error, which is valid UTF-8 JSON."""
    message, request_id, error = parse_message(f'{{"type": "ping", "id": "{surrogate}"}}')
    assert (message, request_id) == (None, None)
    assert error is not None
    assert error.code == "bad_message"
    frame = error_reply("\ud800", error)
    assert json.loads(frame.encode("utf-8")) == {
        "type": "error",
        "id": None,
        "code": "bad_message",
        "message": "strings must be valid Unicode",
    }


def test_a_surrogate_pair_is_a_valid_id() -> None:
    """An escaped surrogate pair is one character (an emoji), not a lone surrogate."""
    _message, request_id, error = parse_message('{"type": "ping", "id": "\\ud83d\\ude00"}')
    assert error is None
    assert request_id == "\U0001f600"


def test_an_empty_or_huge_token_parses_for_the_authenticator_to_refuse() -> None:
    """Token length is the authenticator's business (token_rejected), not bad_message."""
    for token in ("", "x" * 5000):
        message, _, error = parse_message(
            json.dumps({"type": "authenticate", "id": 1, "token": token})
        )
        assert error is None
        assert isinstance(message, Authenticate)


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


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"give": [{"asset": "item:sword", "amount": 1}]}, "amount_type"),
        ({"give": [{"asset": "item:sword", "amount": "-1"}]}, "amount_format"),
        ({"give": []}, "bad_message"),
        ({"give": [{"asset": "item:sword", "amount": "1"}] * 11}, "bad_message"),
        ({"expires_in": 0}, "bad_message"),
        ({"expires_in": 2_592_001}, "bad_message"),
        ({"from_player": "mallory"}, "bad_message"),
        ({"request_id": None}, "request_id_required"),
    ],
)
def test_bad_trade_offers_get_typed_errors(fields: dict[str, object], code: str) -> None:
    """Number amounts, empty or long sides, an expiry out of range, a forged proposer field."""
    frame: dict[str, object] = {
        "type": "trade_offer",
        "id": 1,
        "to_player": "bob",
        "give": [{"asset": "item:sword", "amount": "1"}],
        "want": [{"asset": "currency:gold", "amount": "2"}],
        "request_id": "k",
        **fields,
    }
    if frame["request_id"] is None:
        del frame["request_id"]
    _, _, error = parse_message(json.dumps(frame))
    assert error is not None
    assert error.code == code
