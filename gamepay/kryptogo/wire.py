"""Every KryptoGO wire detail in one place: base URL, headers, paths, codes, fields.

Some of these are confirmed by KryptoGO's public reference, some are our inference (the table
in ``docs/kryptogo-client.md`` marks each one). The client and the sandbox both
import them from here, so correcting one constant corrects both sides. Nothing here does I/O.
"""

from __future__ import annotations

import json
from typing import Any, Final
from urllib.parse import quote

__all__ = [
    "API_KEY_HEADER",
    "BASE_URLS",
    "CLIENT_ID_HEADER",
    "CODE_BAD_REQUEST",
    "CODE_BALANCE_NOT_ENOUGH",
    "CODE_INVALID_API_KEY",
    "CODE_INVALID_CLIENT_ID",
    "CODE_INVALID_PAYMENT_INTENT_ID",
    "CODE_OK",
    "CODE_RATE_LIMITED",
    "CODE_SERVER_FAULT",
    "CODE_STATUS",
    "CREATE_FIELDS",
    "DEFAULT_BASE_URL",
    "DEFAULT_PAGE_SIZE",
    "DEV_BASE_URL",
    "ERROR_MESSAGES",
    "INTENT_CREATED_AT",
    "LIST_DATA_INTENTS",
    "LIST_DATA_PAGE",
    "LIST_DATA_PAGE_SIZE",
    "LIST_DATA_TOTAL_COUNT",
    "LIST_PARAMS",
    "MAX_PAGE_SIZE",
    "MIN_FIAT_AMOUNT",
    "ORDER_DATA_MAX_CHARS",
    "ORIGIN_HEADER",
    "PARAM_CREATED_AFTER",
    "PARAM_CREATED_BEFORE",
    "PARAM_GROUP_KEY",
    "PARAM_PAGE",
    "PARAM_PAGE_SIZE",
    "PARAM_STATUS",
    "PATH_CREATE_INTENT",
    "PATH_GET_INTENT",
    "PATH_LIST_INTENTS",
    "PATH_TRANSFER",
    "REQUEST_ID_HEADERS",
    "TRANSFER_AMOUNT",
    "TRANSFER_CHAIN_ID",
    "TRANSFER_CONTRACT_ADDRESS",
    "TRANSFER_DOCUMENTED_REQUEST_FIELDS",
    "TRANSFER_ID",
    "TRANSFER_ID_FIELDS",
    "TRANSFER_INSUFFICIENT_AMOUNT",
    "TRANSFER_REQUEST_FIELDS",
    "TRANSFER_RESULT_FIELDS",
    "TRANSFER_STATUS",
    "TRANSFER_TIME",
    "TRANSFER_TRANSFER_ID",
    "TRANSFER_TX_HASH",
    "TRANSFER_WALLET_ADDRESS",
    "error_body",
    "intent_path",
    "marshalled_length",
    "ok_body",
    "status_for_code",
]

DEFAULT_BASE_URL: Final = "https://wallet.kryptogo.app"
"""The production service (confirmed); the sandbox serves the same paths locally."""
DEV_BASE_URL: Final = "https://wallet-dev.kryptogo.app"
"""KryptoGO's development host, same paths (confirmed)."""
BASE_URLS: Final[dict[str, str]] = {"production": DEFAULT_BASE_URL, "dev": DEV_BASE_URL}
"""The base URL of each ``GAMEPAY_KRYPTOGO_ENV`` value."""

# -- headers (confirmed) -------------------------------------------------------------------
CLIENT_ID_HEADER: Final = "X-Client-ID"
"""The organization's OAuth client id from KryptoGO Studio."""
API_KEY_HEADER: Final = "X-STUDIO-API-KEY"
"""The Studio API key: a secret, never logged."""
ORIGIN_HEADER: Final = "Origin"
"""The application's domain (required)."""
REQUEST_ID_HEADERS: Final = ("X-Request-ID", "X-Request-Id", "Request-Id")
"""Response headers that may carry a request id (none is documented; read if present)."""

# -- paths (confirmed) ---------------------------------------------------------------------
PATH_CREATE_INTENT: Final = "/v1/studio/api/payment/intent"
"""POST: create a payment intent."""
PATH_GET_INTENT: Final = "/v1/studio/api/payment/intent/{payment_intent_id}"
"""GET: one payment intent (format with ``payment_intent_id``, or use ``intent_path``)."""
PATH_LIST_INTENTS: Final = "/v1/studio/api/payment/intents"
"""GET: list payment intents, paginated and filtered."""
PATH_TRANSFER: Final = "/v1/studio/api/asset_pro/transfer"
"""POST: transfer tokens from the organization's treasury to a wallet."""

# -- envelope codes (4001/4002/4006/4015 confirmed; the rest and the statuses inferred) ------
CODE_OK: Final = 0
"""Success."""
CODE_BAD_REQUEST: Final = 4000
"""A malformed request (bad JSON, wrong types, missing or oversize fields)."""
CODE_INVALID_CLIENT_ID: Final = 4001
"""Unknown or missing ``X-Client-ID``."""
CODE_INVALID_API_KEY: Final = 4002
"""Wrong or missing ``X-STUDIO-API-KEY``."""
CODE_INVALID_PAYMENT_INTENT_ID: Final = 4006
"""No payment intent with that id."""
CODE_BALANCE_NOT_ENOUGH: Final = 4015
"""Transfer refused: the treasury holds too little (``data.insufficient_amount``); nothing moved."""
CODE_RATE_LIMITED: Final = 4290
"""Too many requests."""
CODE_SERVER_FAULT: Final = 5000
"""The service failed on its side."""

CODE_STATUS: Final[dict[int, int]] = {
    CODE_OK: 200,
    CODE_BAD_REQUEST: 400,
    CODE_INVALID_CLIENT_ID: 401,
    CODE_INVALID_API_KEY: 401,
    CODE_INVALID_PAYMENT_INTENT_ID: 404,
    CODE_BALANCE_NOT_ENOUGH: 400,
    CODE_RATE_LIMITED: 429,
    CODE_SERVER_FAULT: 500,
}
"""The HTTP status that accompanies each envelope code."""

ERROR_MESSAGES: Final[dict[int, str]] = {
    CODE_BAD_REQUEST: "bad request",
    CODE_INVALID_CLIENT_ID: "invalid client id",
    CODE_INVALID_API_KEY: "invalid API key",
    CODE_INVALID_PAYMENT_INTENT_ID: "invalid payment_intent_id",
    CODE_BALANCE_NOT_ENOUGH: "Balance not enough",
    CODE_RATE_LIMITED: "rate limited",
    CODE_SERVER_FAULT: "internal server error",
}
"""A default message for each error code."""

# -- create request (confirmed) ------------------------------------------------------------
CREATE_FIELDS: Final = ("fiat_amount", "fiat_currency", "callback_url", "order_data", "group_key")
"""The fields of a create-intent request body."""
ORDER_DATA_MAX_CHARS: Final = 1000
"""``order_data`` may be at most this many characters when marshalled to JSON."""
MIN_FIAT_AMOUNT: Final = "0.01"
"""The smallest ``fiat_amount`` the service accepts (confirmed); the client refuses less."""

# -- list (inferred) -------------------------------------------------------------------------
PARAM_PAGE: Final = "page"
"""Query parameter: the 1-based page number."""
PARAM_PAGE_SIZE: Final = "page_size"
"""Query parameter: intents per page."""
PARAM_STATUS: Final = "status"
"""Query parameter: only intents with this status."""
PARAM_GROUP_KEY: Final = "group_key"
"""Query parameter: only intents with this group key."""
PARAM_CREATED_AFTER: Final = "created_after"
"""Query parameter: only intents created at or after this unix time (seconds)."""
PARAM_CREATED_BEFORE: Final = "created_before"
"""Query parameter: only intents created before this unix time (seconds)."""
LIST_PARAMS: Final = (
    PARAM_PAGE,
    PARAM_PAGE_SIZE,
    PARAM_STATUS,
    PARAM_GROUP_KEY,
    PARAM_CREATED_AFTER,
    PARAM_CREATED_BEFORE,
)
"""Every query parameter of the list call."""
DEFAULT_PAGE_SIZE: Final = 50
"""The page size used when none is given."""
MAX_PAGE_SIZE: Final = 100
"""The largest page size the client asks for (the sandbox caps at this)."""

LIST_DATA_INTENTS: Final = "payment_intents"
"""List answer data key: the intents of this page."""
LIST_DATA_PAGE: Final = "page"
"""List answer data key: the page number served."""
LIST_DATA_PAGE_SIZE: Final = "page_size"
"""List answer data key: the page size served."""
LIST_DATA_TOTAL_COUNT: Final = "total_count"
"""List answer data key: how many intents match the filters in all."""
INTENT_CREATED_AT: Final = "created_at"
"""Extra intent field the list call filters on (unix seconds)."""

# -- asset_pro transfer (the four request fields and the answer shown publicly; see KRYPTOGO.md) -
TRANSFER_CHAIN_ID: Final = "chain_id"
"""Transfer request: chain id (``arb``, ``eth``, ...)."""
TRANSFER_CONTRACT_ADDRESS: Final = "contract_address"
"""Transfer request: the token's contract address."""
TRANSFER_AMOUNT: Final = "amount"
"""Transfer request: the amount as a decimal string (whole tokens, not base units)."""
TRANSFER_WALLET_ADDRESS: Final = "wallet_address"
"""Transfer request: the recipient's wallet address."""
TRANSFER_DOCUMENTED_REQUEST_FIELDS: Final = (
    TRANSFER_CHAIN_ID,
    TRANSFER_CONTRACT_ADDRESS,
    TRANSFER_AMOUNT,
    TRANSFER_WALLET_ADDRESS,
)
"""The four required string fields the public material shows."""
TRANSFER_REQUEST_FIELDS: Final = TRANSFER_DOCUMENTED_REQUEST_FIELDS
"""Every field the client sends: exactly the four documented strings (no note, no request id)."""
TRANSFER_ID: Final = "id"
"""Transfer answer data: KryptoGO's transfer id, e.g. ``1-1627380000-1``."""
TRANSFER_TRANSFER_ID: Final = "transfer_id"
"""Transfer answer data: our earlier guess for the id (still read, never relied on)."""
TRANSFER_ID_FIELDS: Final = (TRANSFER_ID, TRANSFER_TRANSFER_ID)
"""Where the transfer id is read from, first found wins."""
TRANSFER_TX_HASH: Final = "tx_hash"
"""Transfer answer data: the on-chain transaction hash."""
TRANSFER_TIME: Final = "transfer_time"
"""Transfer answer data: when it was executed, unix seconds."""
TRANSFER_STATUS: Final = "status"
"""Transfer answer data: a status (our earlier guess; absent from the documented answer)."""
TRANSFER_RESULT_FIELDS: Final = (TRANSFER_ID, TRANSFER_TX_HASH, TRANSFER_TIME)
"""Every field of the documented transfer answer's data."""
TRANSFER_INSUFFICIENT_AMOUNT: Final = "insufficient_amount"
"""4015 answer data: the shortfall as a decimal string of whole tokens."""


# -- helpers ---------------------------------------------------------------------------------
def intent_path(payment_intent_id: str) -> str:
    """Return the get-intent path for ``payment_intent_id`` (percent-encoded)."""
    return PATH_GET_INTENT.format(payment_intent_id=quote(payment_intent_id, safe=""))


def status_for_code(code: int) -> int:
    """Return the HTTP status that accompanies envelope ``code`` (500 for unknown codes)."""
    if code in CODE_STATUS:
        return CODE_STATUS[code]
    if 4000 <= code < 5000:
        return 400
    return 500


def ok_body(data: Any) -> dict[str, Any]:
    """Return the success envelope around ``data``."""
    return {"code": CODE_OK, "data": data}


def error_body(code: int, message: str | None = None) -> dict[str, Any]:
    """Return the error envelope for ``code`` (default message from ``ERROR_MESSAGES``)."""
    if code == CODE_OK:
        raise ValueError("an error envelope needs a non-zero code")
    return {"code": code, "message": message or ERROR_MESSAGES.get(code, "error"), "data": None}


def marshalled_length(value: Any) -> int:
    """Return the length in characters of ``value`` marshalled to compact JSON.

    This is the measure ``ORDER_DATA_MAX_CHARS`` applies to: compact separators, non-ASCII kept
    as is, so the client and the sandbox count the same way.
    """
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False))
