"""asset_pro transfer models: exact amounts, typed refusals, the wire form."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gamepay.core.money import MAX_AMOUNT, parse_amount
from gamepay.errors import (
    AmountPrecisionError,
    AmountRangeError,
    AmountTypeError,
    InvalidInput,
)
from gamepay.kryptogo import wire
from gamepay.kryptogo.transfers import TransferRequest, TransferResult

USDT = "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9"
WALLET = "0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045"


def request(**overrides: Any) -> TransferRequest:
    fields: dict[str, Any] = {
        "chain_id": "arb",
        "token_address": USDT,
        "amount": 9_230_000,
        "decimals": 6,
        "wallet_address": WALLET,
        "note": "wd_1",
    }
    fields.update(overrides)
    return TransferRequest(**fields)


def test_wire_form_uses_documented_names_and_a_decimal_string() -> None:
    """to_wire sends contract_address and the amount as an exact decimal string."""
    assert request().to_wire() == {
        "chain_id": "arb",
        "contract_address": USDT,
        "amount": "9.23",
        "wallet_address": WALLET,
        "note": "wd_1",
    }
    assert tuple(request().to_wire()) == wire.TRANSFER_REQUEST_FIELDS


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"amount": 1.5}, AmountTypeError),
        ({"amount": True}, AmountTypeError),
        ({"amount": "9.23"}, AmountTypeError),
        ({"amount": 0}, AmountRangeError),
        ({"amount": -1}, AmountRangeError),
        ({"amount": 2**256}, AmountRangeError),
        ({"decimals": 78}, AmountPrecisionError),
        ({"decimals": 6.0}, AmountPrecisionError),
        ({"chain_id": ""}, InvalidInput),
        ({"wallet_address": 5}, InvalidInput),
        ({"surprise": 1}, InvalidInput),
    ],
)
def test_bad_requests_are_typed_errors(overrides: dict[str, Any], error: type[Exception]) -> None:
    """Every bad field is refused at construction with a gamepay error, not pydantic's."""
    with pytest.raises(error):
        request(**overrides)


@given(amount=st.integers(1, MAX_AMOUNT), decimals=st.integers(0, 77))
def test_amount_text_round_trips(amount: int, decimals: int) -> None:
    """The decimal string sent parses back to exactly the same base units."""
    text = request(amount=amount, decimals=decimals).to_wire()["amount"]
    assert parse_amount(text, decimals) == amount


def test_result_keeps_extra_fields() -> None:
    """A transfer answer keeps fields we do not know; tx_hash may be null."""
    result = TransferResult.model_validate(
        {"transfer_id": "t1", "tx_hash": None, "status": "pending", "fee": "0.1"}
    )
    assert (result.transfer_id, result.tx_hash, result.status) == ("t1", None, "pending")
    assert result.model_extra == {"fee": "0.1"}
