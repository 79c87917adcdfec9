"""The (HTTP status, body) -> exception map: every code, every status, non-envelope bodies."""

from __future__ import annotations

import pytest

from gamepay.errors import (
    APIError,
    AuthenticationError,
    InvalidRequestError,
    MalformedResponseError,
    NotFoundError,
    RateLimitError,
    ServerError,
)
from gamepay.kryptogo import wire
from gamepay.kryptogo.errors_map import (
    MAX_BODY_CHARS,
    error_class,
    error_for_response,
    parse_body,
    redact,
)

CODES = [
    (4000, InvalidRequestError),
    (4001, AuthenticationError),
    (4002, AuthenticationError),
    (4006, NotFoundError),
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
