"""API error codes and HTTP statuses the sandbox answers with (and the control API's own).

The first group is the KryptoGO wire contract as documented and inferred in
``docs/architecture.md``; ``INSUFFICIENT_TREASURY`` (4100) and the control-only codes are the
sandbox's own definitions.
"""

from __future__ import annotations

__all__ = [
    "CONFLICT",
    "FORBIDDEN",
    "HTTP_STATUS",
    "INSUFFICIENT_TREASURY",
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

OK = 0
INVALID_REQUEST = 4000
"""Malformed request: bad JSON, wrong types, floats for amounts, oversize order_data..."""
INVALID_CLIENT_ID = 4001
INVALID_API_KEY = 4002
INVALID_PAYMENT_INTENT_ID = 4006
ROUTE_NOT_FOUND = 4040
"""No such path (the sandbox's own code)."""
METHOD_NOT_ALLOWED = 4050
"""The path exists but not with this method (the sandbox's own code)."""
CONFLICT = 4090
"""Control API only: the operation does not fit the intent's status (e.g. refund a success)."""
FORBIDDEN = 4030
"""Control API only: called from a non-loopback address."""
INSUFFICIENT_TREASURY = 4100
"""asset_pro transfer refused: the treasury holds less than the amount of that token."""
RATE_LIMITED = 4290
SERVER_ERROR = 5000

HTTP_STATUS: dict[int, int] = {
    INVALID_REQUEST: 400,
    INVALID_CLIENT_ID: 401,
    INVALID_API_KEY: 401,
    FORBIDDEN: 403,
    INVALID_PAYMENT_INTENT_ID: 404,
    ROUTE_NOT_FOUND: 404,
    METHOD_NOT_ALLOWED: 405,
    CONFLICT: 409,
    INSUFFICIENT_TREASURY: 400,
    RATE_LIMITED: 429,
    SERVER_ERROR: 500,
}
"""The HTTP status each code comes with."""
