"""asset_pro transfer models: exact amounts, typed refusals, the wire form."""

from __future__ import annotations

from datetime import UTC, datetime
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
        "reference": "gamepay/withdrawal/wd_1",
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
    }
    assert tuple(request().to_wire()) == wire.TRANSFER_REQUEST_FIELDS


def test_exactly_the_four_documented_strings_are_sent_never_a_note() -> None:
    """No note or request id is documented: the local reference stays local, and a ``note``
    argument is refused (nothing may depend on the service storing one)."""
    body = request().to_wire()
    assert tuple(body) == wire.TRANSFER_DOCUMENTED_REQUEST_FIELDS
    assert all(isinstance(value, str) for value in body.values())
    assert "wd_1" not in str(body)
    with pytest.raises(InvalidInput):
        request(note="wd_1")


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


def test_result_reads_the_documented_answer() -> None:
    """id, tx_hash and transfer_time (unix seconds -> aware UTC) of the documented answer."""
    result = TransferResult.model_validate(
        {"id": "1-1627380000-1", "tx_hash": "0xabc", "transfer_time": 1627380000}
    )
    assert result.transfer_id == "1-1627380000-1"
    assert result.tx_hash == "0xabc"
    assert result.transfer_time == datetime(2021, 7, 27, 10, 0, tzinfo=UTC)
    assert result.transfer_time is not None
    assert result.transfer_time.tzinfo is not None
    assert result.status is None
    assert result.model_extra == {}


def test_result_refuses_a_naive_transfer_time() -> None:
    """A naive datetime is not a point in time: refused by the strict model."""
    with pytest.raises(ValueError, match="timezone-aware"):
        TransferResult(transfer_id="t", transfer_time=datetime(2026, 1, 1))


def test_read_of_a_clean_answer_has_no_problems_and_keeps_extras() -> None:
    """read() takes the documented shape and the old one alike (noting only the old one's
    missing transfer_time); unknown fields stay."""
    documented = TransferResult.read(
        {"id": "1-1", "tx_hash": "0xab", "transfer_time": 1627380000, "extra": {"fee": "0.1"}}
    )
    assert (documented.transfer_id, documented.problems) == ("1-1", ())
    assert documented.model_extra == {"extra": {"fee": "0.1"}}
    old = TransferResult.read({"transfer_id": "tr_1", "tx_hash": "0xcd", "status": "success"})
    assert (old.transfer_id, old.tx_hash, old.status, old.problems) == (
        "tr_1",
        "0xcd",
        "success",
        ("no transfer_time",),
    )


def test_read_prefers_the_documented_id() -> None:
    """With both names present, the documented ``id`` is the transfer id."""
    result = TransferResult.read({"id": "kgo-1", "transfer_id": "ours", "tx_hash": "0x1"})
    assert result.transfer_id == "kgo-1"


@pytest.mark.parametrize(
    ("data", "transfer_id", "problem"),
    [
        ({}, None, "no transfer id"),
        ({"id": None, "tx_hash": "0xab"}, None, "no transfer id"),
        ({"id": 42}, "42", "id is a number"),
        ({"id": ""}, None, "id is not a non-empty string"),
        ({"id": ["x"]}, None, "id is not a non-empty string"),
        ({"transfer_id": True}, None, "transfer_id is not a non-empty string"),
        ({"id": "t", "tx_hash": 5}, "t", "tx_hash is not"),
        ({"id": "t", "tx_hash": None}, "t", "no tx_hash"),
        ({"id": "t", "transfer_time": "yesterday"}, "t", "unix seconds"),
        ({"id": "t", "transfer_time": True}, "t", "unix seconds"),
        ({"id": "t", "transfer_time": 10**30}, "t", "out of range"),
        ({"id": "t", "status": {"a": 1}}, "t", "status is not a string"),
        (None, None, "data is NoneType"),
        ("executed", None, "data is str"),
        ([1, 2], None, "data is list"),
    ],
)
def test_read_never_refuses_odd_data(data: Any, transfer_id: str | None, problem: str) -> None:
    """Odd data still gives a result (code 0 means executed); each oddity is in problems."""
    result = TransferResult.read(data)
    assert result.transfer_id == transfer_id
    assert any(problem in p for p in result.problems), result.problems


@given(
    data=st.dictionaries(
        st.text(max_size=12),
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        max_size=6,
    )
)
def test_read_never_raises(data: dict[str, Any]) -> None:
    """Whatever object the data is, read() returns a result and keeps unknown keys."""
    result = TransferResult.read(data)
    known = {"id", "transfer_id", "tx_hash", "transfer_time", "status"}
    assert set(result.model_extra or {}) <= set(data) - known
