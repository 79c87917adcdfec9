"""Talking to KryptoGO (``KryptoGOError``): API answers, transport failures, unknown outcomes."""

from __future__ import annotations

from typing import Any

from gamepay.errors.base import GamepayError

__all__ = [
    "APIError",
    "AuthenticationError",
    "InvalidRequestError",
    "KryptoGOError",
    "MalformedResponseError",
    "NotFoundError",
    "OutcomeUnknownError",
    "RateLimitError",
    "RequestTimeout",
    "ServerError",
    "TransportError",
    "TreasuryInsufficient",
]


class KryptoGOError(GamepayError):
    """Talking to KryptoGO Studio failed."""

    code = "kryptogo_error"


class APIError(KryptoGOError):
    """KryptoGO answered with an error; carries HTTP status, API code, message and body."""

    code = "api_error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        api_code: int | None = None,
        body: Any = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.api_code = api_code
        self.body = body
        self.request_id = request_id

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, api_code={self.api_code!r}, "
            f"message={self.message!r})"
        )


class AuthenticationError(APIError):
    """Invalid client id (4001) or API key (4002), or HTTP 401/403."""

    code = "api_authentication"


class NotFoundError(APIError):
    """Invalid payment_intent_id (4006) or HTTP 404."""

    code = "api_not_found"


class InvalidRequestError(APIError):
    """The request was refused as malformed (HTTP 400/422 and other 4xx)."""

    code = "api_invalid_request"


class RateLimitError(APIError):
    """Too many requests (HTTP 429); ``retry_after`` holds the server's wait in seconds, if sent."""

    code = "api_rate_limit"
    retry_after: float | None = None


class ServerError(APIError):
    """KryptoGO failed on its side (HTTP 5xx)."""

    code = "api_server_error"


class TreasuryInsufficient(APIError):
    """4015 "Balance not enough": a definite refusal of a transfer; nothing moved.

    ``shortfall`` is the missing amount in base units when the token's decimals were known and
    the server's ``insufficient_amount`` parsed exactly, else None; ``shortfall_text`` is the
    server's decimal string of whole tokens as sent (None when absent or not a string).
    """

    code = "treasury_insufficient"
    shortfall: int | None = None
    shortfall_text: str | None = None


class MalformedResponseError(APIError):
    """A success status whose body is not the documented envelope or data shape."""

    code = "api_malformed_response"


class TransportError(KryptoGOError):
    """No usable HTTP answer arrived (connection refused, reset, protocol error)."""

    code = "transport_error"


class RequestTimeout(TransportError):
    """No answer arrived in time (named so it does not shadow the builtin ``TimeoutError``)."""

    code = "timeout"


class OutcomeUnknownError(KryptoGOError):
    """A call that creates an intent or moves money may or may not have taken effect."""

    code = "outcome_unknown"

    def __init__(self, message: str, *, operation: str, reference: str | None = None) -> None:
        super().__init__(message)
        self.operation = operation
        self.reference = reference
