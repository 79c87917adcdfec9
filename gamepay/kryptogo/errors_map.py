"""One pure function from a KryptoGO answer (HTTP status, body) to the exception it means.

The envelope's ``code`` decides when it is one we know (4001/4002 authentication, 4006 not found,
4015 treasury insufficient, 4000 bad request, 4290 rate limited, 5000 server fault), whatever
the HTTP status; otherwise the HTTP status does (401/403
authentication, 404 not found, 429 rate limited, 5xx server, other 4xx invalid request). A body
that is not the envelope (an HTML 502 page, bad JSON) still maps by status; on a 2xx status it is a
``MalformedResponseError``. Secrets passed in are masked in the message and the stored body.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from gamepay.core.money import parse_amount
from gamepay.errors import (
    AmountError,
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

__all__ = [
    "MASK",
    "MAX_BODY_CHARS",
    "error_class",
    "error_for_response",
    "parse_body",
    "redact",
    "shortfall",
]

MASK = "***"
"""What a secret is replaced with wherever it could leak."""

MAX_BODY_CHARS = 2000
"""A non-JSON body is kept on the exception truncated to this many characters."""

_CODE_CLASS: dict[int, type[APIError]] = {
    wire.CODE_BAD_REQUEST: InvalidRequestError,
    wire.CODE_INVALID_CLIENT_ID: AuthenticationError,
    wire.CODE_INVALID_API_KEY: AuthenticationError,
    wire.CODE_INVALID_PAYMENT_INTENT_ID: NotFoundError,
    wire.CODE_BALANCE_NOT_ENOUGH: TreasuryInsufficient,
    wire.CODE_RATE_LIMITED: RateLimitError,
    wire.CODE_SERVER_FAULT: ServerError,
}


def error_class(status: int, api_code: int | None) -> type[APIError]:
    """Return the exception class for an error answer with ``status`` and envelope ``api_code``."""
    if api_code is not None and api_code in _CODE_CLASS:
        return _CODE_CLASS[api_code]
    if status in (401, 403):
        return AuthenticationError
    if status == 404:
        return NotFoundError
    if status == 429:
        return RateLimitError
    if status >= 500:
        return ServerError
    if 400 <= status < 500:
        return InvalidRequestError
    # A 1xx/2xx/3xx status with an error code we do not know: judge by the code's range.
    if api_code is not None and api_code >= 5000:
        return ServerError
    if api_code is not None:
        return InvalidRequestError
    return MalformedResponseError


def redact(value: Any, secrets: Iterable[str]) -> Any:
    """Return ``value`` with every occurrence of each non-empty secret replaced by ``MASK``.

    Walks dicts (keys and values), lists and strings; other values are returned as they are.
    """
    secrets = tuple(s for s in secrets if s)
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, MASK)
        return value
    if isinstance(value, Mapping):
        return {redact(k, secrets): redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item, secrets) for item in value]
    return value


def parse_body(content: bytes) -> tuple[Any, bool]:
    """Return ``(body, is_envelope)``: the decoded JSON (or text) and whether it is an envelope.

    An envelope is a JSON object with an int (not bool) ``code``. A body that is not JSON comes
    back as text, truncated to ``MAX_BODY_CHARS``.
    """
    text = content.decode("utf-8", errors="replace")
    try:
        body = json.loads(text)
    except ValueError:
        return text[:MAX_BODY_CHARS], False
    is_envelope = (
        isinstance(body, dict)
        and type(body.get("code")) is int
        and ("data" in body or body["code"])
    )
    return body, bool(is_envelope)


def error_for_response(
    status: int,
    body: Any,
    *,
    is_envelope: bool,
    request_id: str | None = None,
    secrets: Iterable[str] = (),
    decimals: int | None = None,
) -> APIError:
    """Return (not raise) the typed error for an answer that is not a success.

    ``body`` is what ``parse_body`` returned. The error carries ``status``, ``api_code`` (the
    envelope's code, or None), the server's message, the (redacted) body and ``request_id``.
    A ``TreasuryInsufficient`` also carries its shortfall, in base units when ``decimals`` (the
    requested token's) is given.
    """
    secrets = tuple(secrets)
    api_code: int | None = None
    server_message = ""
    if is_envelope:
        api_code = body["code"]
        raw = body.get("message")
        server_message = raw if isinstance(raw, str) else ""
    cls = error_class(status, api_code)
    if is_envelope:
        what = f"code {api_code}"
    elif 200 <= status < 300:
        what = "a body that is not the API envelope"
    else:
        what = "a non-envelope body"
    message = f"KryptoGO answered HTTP {status} with {what}"
    if server_message:
        message += f": {server_message[:300]}"
    error = cls(
        redact(message, secrets),
        status=status,
        api_code=api_code,
        body=redact(body, secrets),
        request_id=request_id,
    )
    if isinstance(error, TreasuryInsufficient):
        error.shortfall_text, error.shortfall = shortfall(body, decimals)
    return error


def shortfall(body: Any, decimals: int | None) -> tuple[str | None, int | None]:
    """Return a 4015 body's ``insufficient_amount`` as sent and in base units (exact, no float).

    The text is None when the field is absent or not a string; the units are None when the text
    is None, ``decimals`` is None, or the text is not an exact amount with at most ``decimals``
    places.
    """
    data = body.get("data") if isinstance(body, Mapping) else None
    text = data.get(wire.TRANSFER_INSUFFICIENT_AMOUNT) if isinstance(data, Mapping) else None
    if not isinstance(text, str):
        return None, None
    if decimals is None:
        return text, None
    try:
        return text, parse_amount(text, decimals)
    except AmountError:
        return text, None
