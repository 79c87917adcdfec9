"""The (HTTP status, body) -> exception map: every code, every status, non-envelope bodies."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gamepay.core.money import format_amount
from gamepay.errors import (
    APIError,
    AuthenticationError,
    InvalidRequestError,
    MalformedResponseError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TreasuryInsufficient,
)
from gamepay.kryptogo import wire
from gamepay.kryptogo.errors_map import (
    MAX_BODY_CHARS,
    error_class,
    error_for_response,
    parse_body,
    redact,
    shortfall,
)

CODES = [
    (4000, InvalidRequestError),
    (4001, AuthenticationError),
    (4002, AuthenticationError),
    (4006, NotFoundError),
    (4015, TreasuryInsufficient),
    (4290, RateLimitError),
    (5000, ServerError),
]


@pytest.mark.parametrize(("code", "cls"), CODES)
def test_every_documented_code(code: int, cls: type[APIError]) -> None:
    """Each documented code, sent with its documented status, maps to its class."""
    status = wire.CODE_STATUS[code]
    body = wire.error_body(code, "nope")
    error = error_for_response(status, body, is_envelope=True, request_id="req-1")
    assert type(error) is cls
    assert (error.status, error.api_code, error.request_id) == (status, code, "req-1")
    assert error.body == body
    assert "nope" in error.message
    assert str(code) in error.message


@pytest.mark.parametrize(("code", "cls"), CODES)
def test_code_wins_over_status(code: int, cls: type[APIError]) -> None:
    """A known code decides even when it arrives with HTTP 200 (or an odd status)."""
    assert error_class(200, code) is cls
    assert error_class(400, code) is cls


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, InvalidRequestError),
        (401, AuthenticationError),
        (403, AuthenticationError),
        (404, NotFoundError),
        (405, InvalidRequestError),
        (409, InvalidRequestError),
        (413, InvalidRequestError),
        (422, InvalidRequestError),
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (504, ServerError),
        (599, ServerError),
    ],
)
def test_every_status_without_a_known_code(status: int, cls: type[APIError]) -> None:
    """With no code or an unknown one, the HTTP status decides."""
    assert error_class(status, None) is cls
    assert error_class(status, 1234) is cls


def test_unknown_code_on_success_status_judged_by_range() -> None:
    """An unknown non-zero code on a 2xx: 5xxx is a server fault, anything else a refusal."""
    assert error_class(200, 5999) is ServerError
    assert error_class(200, 4123) is InvalidRequestError
    assert error_class(200, 7) is InvalidRequestError
    assert error_class(200, None) is MalformedResponseError


def test_html_502_page_is_a_server_error() -> None:
    """An HTML gateway page is not the envelope; it still maps by status and keeps the text."""
    page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    body, is_envelope = parse_body(page)
    assert not is_envelope
    error = error_for_response(502, body, is_envelope=is_envelope)
    assert type(error) is ServerError
    assert error.api_code is None
    assert error.body == page.decode()
    assert "502" in error.message


def test_bad_json_on_200_is_malformed() -> None:
    """A 2xx with a body that is not JSON, or JSON but not the envelope, is malformed."""
    for raw in (b"{not json", b"[1, 2]", b'{"code": "0"}', b'{"code": true, "data": 1}', b"null"):
        body, is_envelope = parse_body(raw)
        assert not is_envelope, raw
        error = error_for_response(200, body, is_envelope=is_envelope)
        assert type(error) is MalformedResponseError, raw


def test_parse_body_envelopes_and_truncation() -> None:
    """Envelopes are recognised; long non-JSON bodies are truncated; bad UTF-8 survives."""
    assert parse_body(b'{"code": 0, "data": {"a": 1}}') == ({"code": 0, "data": {"a": 1}}, True)
    assert parse_body(b'{"code": 4002, "message": "x"}')[1] is True
    assert parse_body(b'{"code": 0}')[1] is False
    text, ok = parse_body(b"x" * (MAX_BODY_CHARS * 3))
    assert not ok
    assert len(text) == MAX_BODY_CHARS
    text, ok = parse_body(b"\xff\xfe junk")
    assert not ok
    assert isinstance(text, str)


def test_secrets_are_masked_in_message_and_body() -> None:
    """A server that echoes the API key back never gets it onto the exception."""
    key = "sk_live_SECRET123"
    body = {"code": 4002, "message": f"bad key {key}", "data": {key: [key, 1]}}
    error = error_for_response(401, body, is_envelope=True, secrets=(key,))
    assert type(error) is AuthenticationError
    for text in (str(error), repr(error), error.message, repr(error.body)):
        assert key not in text
    assert "***" in error.message
    assert redact("plain", ()) == "plain"
    assert redact({"k": ("a", 3)}, ("a",)) == {"k": ["***", 3]}


@given(status=st.integers(100, 599), content=st.binary(max_size=300))
def test_any_answer_maps_to_a_typed_error(status: int, content: bytes) -> None:
    """Whatever bytes arrive with whatever status, parsing and mapping give an APIError."""
    body, is_envelope = parse_body(content)
    error = error_for_response(status, body, is_envelope=is_envelope)
    assert isinstance(error, APIError)
    assert error.status == status
    if not is_envelope and status >= 500:
        assert type(error) is ServerError


@given(
    status=st.integers(100, 599),
    code=st.none() | st.integers(-(2**31), 2**31) | st.sampled_from([c for c, _ in CODES]),
)
def test_error_class_rules(status: int, code: int | None) -> None:
    """A known code decides; else 401/403, 404, 429, 5xx, 4xx by status; else by code range."""
    cls = error_class(status, code)
    known = dict(CODES)
    if code in known:
        assert cls is known[code]
    elif status in (401, 403):
        assert cls is AuthenticationError
    elif status == 404:
        assert cls is NotFoundError
    elif status == 429:
        assert cls is RateLimitError
    elif status >= 500:
        assert cls is ServerError
    elif status >= 400:
        assert cls is InvalidRequestError
    elif code is None:
        assert cls is MalformedResponseError
    else:
        assert cls in (ServerError, InvalidRequestError)


def _balance_not_enough(amount: object) -> dict[str, object]:
    """The documented 4015 body with ``insufficient_amount`` set to ``amount``."""
    return {"code": 4015, "message": "Balance not enough", "data": {"insufficient_amount": amount}}


@pytest.mark.parametrize("status", [200, 400, 403, 404, 429, 500, 503])
def test_balance_not_enough_is_treasury_insufficient_at_any_status(status: int) -> None:
    """4015 is the typed refusal whatever HTTP status comes with it (none is documented)."""
    body = _balance_not_enough("123.456")
    error = error_for_response(status, body, is_envelope=True, decimals=6)
    assert type(error) is TreasuryInsufficient
    assert isinstance(error, APIError)
    assert (error.api_code, error.status) == (4015, status)
    assert (error.shortfall_text, error.shortfall) == ("123.456", 123_456_000)
    assert "Balance not enough" in error.message


@pytest.mark.parametrize(
    ("amount", "decimals", "expected"),
    [
        ("123.456", 6, ("123.456", 123_456_000)),
        ("0.000001", 6, ("0.000001", 1)),
        ("1", 0, ("1", 1)),
        ("0.1234567", 6, ("0.1234567", None)),  # finer than the token: not rounded
        ("123.456", None, ("123.456", None)),  # decimals unknown: the raw text only
        ("1e3", 6, ("1e3", None)),
        ("0", 6, ("0", None)),
        (123.456, 6, (None, None)),  # a JSON number is never taken through a float
        (None, 6, (None, None)),
    ],
)
def test_shortfall_is_exact_or_absent(
    amount: object, decimals: int | None, expected: tuple[str | None, int | None]
) -> None:
    """The shortfall converts exactly with the token's decimals, or stays unset; never rounded."""
    assert shortfall(_balance_not_enough(amount), decimals) == expected


@given(units=st.integers(1, 2**256 - 1), decimals=st.integers(0, 77))
def test_shortfall_round_trips_any_exact_amount(units: int, decimals: int) -> None:
    """Any amount formatted as whole tokens comes back as exactly its base units."""
    text = format_amount(units, decimals)
    assert shortfall(_balance_not_enough(text), decimals) == (text, units)


def test_shortfall_of_odd_bodies() -> None:
    """A 4015 without data, or with data that is not an object, has no shortfall."""
    assert shortfall({"code": 4015, "message": "x"}, 6) == (None, None)
    assert shortfall({"code": 4015, "data": ["1"]}, 6) == (None, None)
    assert shortfall("Balance not enough", 6) == (None, None)
