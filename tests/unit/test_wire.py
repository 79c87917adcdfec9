"""The wire constants match docs/kryptogo-client.md and the helpers behave."""

from __future__ import annotations

import pytest

from gamepay.kryptogo import wire


def test_paths_and_headers_are_the_documented_ones() -> None:
    """Paths, headers and base URL are exactly those in the docs."""
    assert wire.DEFAULT_BASE_URL == "https://wallet.kryptogo.app"
    assert wire.DEV_BASE_URL == "https://wallet-dev.kryptogo.app"
    assert wire.BASE_URLS == {"production": wire.DEFAULT_BASE_URL, "dev": wire.DEV_BASE_URL}
    assert (wire.CLIENT_ID_HEADER, wire.API_KEY_HEADER, wire.ORIGIN_HEADER) == (
        "X-Client-ID",
        "X-STUDIO-API-KEY",
        "Origin",
    )
    assert wire.PATH_CREATE_INTENT == "/v1/studio/api/payment/intent"
    assert wire.intent_path("pi_1") == "/v1/studio/api/payment/intent/pi_1"
    assert wire.intent_path("a/b?c") == "/v1/studio/api/payment/intent/a%2Fb%3Fc"
    assert wire.PATH_LIST_INTENTS == "/v1/studio/api/payment/intents"
    assert wire.PATH_TRANSFER == "/v1/studio/api/asset_pro/transfer"


def test_codes_map_to_statuses() -> None:
    """Each envelope code comes with its documented HTTP status; unknown codes fall back."""
    assert wire.CODE_STATUS == {
        0: 200,
        4000: 400,
        4001: 401,
        4002: 401,
        4006: 404,
        4015: 400,
        4290: 429,
        5000: 500,
    }
    assert wire.status_for_code(4999) == 400
    assert wire.status_for_code(7) == 500


def test_envelopes() -> None:
    """ok_body and error_body build the documented envelopes; code 0 is not an error."""
    assert wire.ok_body({"a": 1}) == {"code": 0, "data": {"a": 1}}
    assert wire.error_body(4002) == {"code": 4002, "message": "invalid API key", "data": None}
    assert wire.error_body(4000, "x")["message"] == "x"
    assert wire.error_body(4015)["message"] == "Balance not enough"
    with pytest.raises(ValueError):
        wire.error_body(0)


def test_marshalled_length_is_compact_json() -> None:
    """The order_data size is measured on compact JSON, counting characters not bytes."""
    assert wire.marshalled_length({"a": "é"}) == len('{"a":"é"}')
    assert wire.ORDER_DATA_MAX_CHARS == 1000
    assert wire.MIN_FIAT_AMOUNT == "0.01"


def test_list_and_transfer_fields() -> None:
    """List params/keys and transfer fields are the documented names."""
    assert wire.LIST_PARAMS == (
        "page",
        "page_size",
        "status",
        "group_key",
        "created_after",
        "created_before",
    )
    assert (
        wire.LIST_DATA_INTENTS,
        wire.LIST_DATA_PAGE,
        wire.LIST_DATA_PAGE_SIZE,
        wire.LIST_DATA_TOTAL_COUNT,
    ) == ("payment_intents", "page", "page_size", "total_count")
    assert wire.TRANSFER_REQUEST_FIELDS == (
        "chain_id",
        "contract_address",
        "amount",
        "wallet_address",
    )
    assert wire.TRANSFER_REQUEST_FIELDS == wire.TRANSFER_DOCUMENTED_REQUEST_FIELDS
    assert wire.TRANSFER_RESULT_FIELDS == ("id", "tx_hash", "transfer_time")
    assert wire.TRANSFER_ID_FIELDS == ("id", "transfer_id")
    assert (wire.CODE_BALANCE_NOT_ENOUGH, wire.TRANSFER_INSUFFICIENT_AMOUNT) == (
        4015,
        "insufficient_amount",
    )
