"""Money parsing and formatting: exact, and every bad input refused with a typed error."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gamepay.core.money import MAX_AMOUNT, check_amount, format_amount, parse_amount
from gamepay.errors import (
    AmountError,
    AmountFormatError,
    AmountPrecisionError,
    AmountRangeError,
    AmountTypeError,
    InvalidInput,
)


def test_seed_example_parses_to_base_units() -> None:
    """'9.23' at 6 decimals is 9,230,000 base units."""
    assert parse_amount("9.23", 6) == 9_230_000


@pytest.mark.parametrize(
    ("text", "decimals", "units"),
    [("1", 0, 1), ("0.000001", 6, 1), ("1.50", 1, 15), ("300.0", 2, 30000), ("007", 0, 7)],
)
def test_parse_exact_values(text: str, decimals: int, units: int) -> None:
    """Plain decimals parse exactly, including trailing zeros beyond the asset's places."""
    assert parse_amount(text, decimals) == units


def test_float_trap_is_avoided() -> None:
    """1.15 tokens at 18 decimals is exact, not the float product 1149999999999999872."""
    assert parse_amount("1.15", 18) == 1_150_000_000_000_000_000


@pytest.mark.parametrize(
    "text",
    [
        "",
        " 1",
        "1 ",
        "-1",
        "+1",
        "1e6",
        "1E6",
        "NaN",
        "nan",
        "inf",
        ".5",
        "5.",
        "1,5",
        "0x10",
        "١٢",
        "1_000",
    ],
)
def test_parse_refuses_malformed_strings(text: str) -> None:
    """Signs, exponents, NaN, blanks, separators and non-ASCII digits are format errors."""
    with pytest.raises(AmountFormatError):
        parse_amount(text, 6)


@pytest.mark.parametrize("value", [1.5, 1.0, True, False, Decimal("1"), None, b"1", 7])
def test_parse_refuses_non_strings(value: object) -> None:
    """Only str is parsed; floats, bools, Decimals, bytes and ints are type errors."""
    with pytest.raises(AmountTypeError):
        parse_amount(value, 6)


def test_parse_refuses_too_many_places() -> None:
    """A fraction finer than the asset's decimals is a precision error."""
    with pytest.raises(AmountPrecisionError):
        parse_amount("0.0000001", 6)
    with pytest.raises(AmountPrecisionError):
        parse_amount("1.5", 0)


def test_parse_refuses_zero_unless_allowed() -> None:
    """Zero is out of range for an amount, but allowed where a caller says so."""
    with pytest.raises(AmountRangeError):
        parse_amount("0", 6)
    assert parse_amount("0.000", 6, allow_zero=True) == 0


def test_range_bounds() -> None:
    """2**256 - 1 is the largest amount; 2**256 is refused."""
    assert parse_amount(str(MAX_AMOUNT), 0) == MAX_AMOUNT
    with pytest.raises(AmountRangeError):
        parse_amount(str(MAX_AMOUNT + 1), 0)
    with pytest.raises(AmountRangeError):
        parse_amount("9" * 200, 0)


@pytest.mark.parametrize("decimals", [-1, 78, 1.0, True, "6"])
def test_bad_decimals_refused(decimals: object) -> None:
    """Decimals must be an int in 0..77."""
    with pytest.raises(AmountPrecisionError):
        parse_amount("1", decimals)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [0, -1, 2**256, 1.0, True, "1", Decimal(1)])
def test_check_amount_refuses(value: object) -> None:
    """check_amount takes only ints with 0 < amount < 2**256."""
    with pytest.raises(AmountError):
        check_amount(value)


def test_check_amount_accepts_bounds() -> None:
    """1 and 2**256 - 1 are amounts."""
    assert check_amount(1) == 1
    assert check_amount(MAX_AMOUNT) == MAX_AMOUNT


@pytest.mark.parametrize(
    ("units", "decimals", "text"),
    [(9_230_000, 6, "9.23"), (1, 6, "0.000001"), (5, 0, "5"), (0, 6, "0"), (10**18, 18, "1")],
)
def test_format_shortest_exact(units: int, decimals: int, text: str) -> None:
    """Formatting gives the shortest exact decimal string."""
    assert format_amount(units, decimals) == text


def test_amount_errors_are_invalid_input() -> None:
    """Every amount error is catchable as InvalidInput and carries a code."""
    with pytest.raises(InvalidInput) as info:
        parse_amount("-1", 6)
    assert info.value.code == "amount_format"
