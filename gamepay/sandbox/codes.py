"""API error codes and HTTP statuses the sandbox answers with (and the control API's own).

The first group is the KryptoGO wire contract as documented and inferred in
``docs/architecture.md`` (``BALANCE_NOT_ENOUGH`` is KryptoGO's documented 4015); the control-only
codes are the sandbox's own definitions.
"""

from __future__ import annotations

from gamepay.kryptogo import wire

__all__ = [
    "BALANCE_NOT_ENOUGH",
    "CONFLICT",
    "FORBIDDEN",
    "HTTP_STATUS",
    "INVALID_API_KEY",
    "INVALID_CLIENT_ID",
    "INVALID_PAYMENT_INTENT_ID",
    "INVALID_REQUEST",
    "METHOD_NOT_ALLOWED",
    "OK",
    "RATE_LIMITED",
    "ROUTE_NOT_FOUND",
    "SERVER_ERROR",
]

OK = wire.CODE_OK
INVALID_REQUEST = wire.CODE_BAD_REQUEST
"""Malformed request: bad JSON, wrong types, floats for amounts, oversize order_data..."""
INVALID_CLIENT_ID = wire.CODE_INVALID_CLIENT_ID
INVALID_API_KEY = wire.CODE_INVALID_API_KEY
INVALID_PAYMENT_INTENT_ID = wire.CODE_INVALID_PAYMENT_INTENT_ID
ROUTE_NOT_FOUND = 4040
"""No such path (the sandbox's own code)."""
METHOD_NOT_ALLOWED = 4050
"""The path exists but not with this method (the sandbox's own code)."""
CONFLICT = 4090
"""Control API only: the operation does not fit the intent's status (e.g. refund a success)."""
FORBIDDEN = 4030
"""Control API only: called from a non-loopback address."""
BALANCE_NOT_ENOUGH = wire.CODE_BALANCE_NOT_ENOUGH
"""asset_pro transfer refused (4015, documented): the treasury holds less than the amount; the
answer's ``data.insufficient_amount`` is the shortfall in whole tokens."""
RATE_LIMITED = wire.CODE_RATE_LIMITED
SERVER_ERROR = wire.CODE_SERVER_FAULT

HTTP_STATUS: dict[int, int] = {
    **wire.CODE_STATUS,
    FORBIDDEN: 403,
    ROUTE_NOT_FOUND: 404,
    METHOD_NOT_ALLOWED: 405,
    CONFLICT: 409,
}
"""The HTTP status each code comes with."""
