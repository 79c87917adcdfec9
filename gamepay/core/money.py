"""Exact amounts: ints of base units, and decimal strings only at the API edge.

An amount is a Python ``int`` of an asset's base units with ``0 < amount < 2**256``.
``parse_amount("9.23", 6) == 9_230_000`` and ``format_amount(9_230_000, 6) == "9.23"``.
Nothing here ever passes through ``float``.
"""

from __future__ import annotations

import re

from gamepay.errors import (
    AmountFormatError,
    AmountPrecisionError,
    AmountRangeError,
    AmountTypeError,
)

__all__ = [
    "MAX_AMOUNT",
    "MAX_DECIMALS",
    "check_amount",
    "format_amount",
    "parse_amount",
]

MAX_AMOUNT = 2**256 - 1
"""The largest amount of base units any asset can hold (uint256)."""

MAX_DECIMALS = 77
"""The most decimal places an asset may have (so one whole unit stays below 2**256)."""

_DECIMAL = re.compile(r"(?P<whole>[0-9]+)(?:\.(?P<frac>[0-9]+))?")


def _check_decimals(decimals: object) -> int:
    if type(decimals) is not int or not 0 <= decimals <= MAX_DECIMALS:
        raise AmountPrecisionError(f"decimals must be an int in 0..{MAX_DECIMALS}")
    return decimals


def check_amount(value: object, *, allow_zero: bool = False) -> int:
    """Return ``value`` if it is an int amount in range, else raise a typed AmountError."""
    if type(value) is not int:  # refuses bool, float, Decimal, str and int subclasses
        raise AmountTypeError(f"amount must be an int of base units, not {type(value).__name__}")
    low = 0 if allow_zero else 1
    if not low <= value <= MAX_AMOUNT:
        bound = "0 <=" if allow_zero else "0 <"
        raise AmountRangeError(f"amount must satisfy {bound} amount < 2**256")
    return value


def parse_amount(text: object, decimals: int, *, allow_zero: bool = False) -> int:
    """Parse a plain decimal string (``"9.23"``) into base units for ``decimals`` places.

    Accepts digits with an optional ``.fraction``; refuses signs, exponents, NaN, spaces,
    non-strings, and fractions that are not exactly representable at ``decimals`` places
    (trailing zeros beyond ``decimals`` are exact and accepted: ``"1.50"`` at 1 place is 15).
    """
    decimals = _check_decimals(decimals)
    if not isinstance(text, str) or isinstance(text, bool):
        raise AmountTypeError(f"amount must be a decimal string, not {type(text).__name__}")
    match = _DECIMAL.fullmatch(text)
    if match is None or not text.isascii():
        raise AmountFormatError(f"not a plain decimal amount: {text[:40]!r}")
    frac = match.group("frac") or ""
    significant = frac.rstrip("0")
    if len(significant) > decimals:
        raise AmountPrecisionError(f"{text[:40]!r} has more than {decimals} decimal places")
    if len(match.group("whole")) > 80:
        raise AmountRangeError("amount must be below 2**256 base units")
    units = int(match.group("whole")) * 10**decimals + int(significant.ljust(decimals, "0") or "0")
    return check_amount(units, allow_zero=allow_zero)


def format_amount(units: int, decimals: int) -> str:
    """Format base units as the shortest exact decimal string (``9230000, 6 -> "9.23"``)."""
    decimals = _check_decimals(decimals)
    units = check_amount(units, allow_zero=True)
    if decimals == 0:
        return str(units)
    whole, frac = divmod(units, 10**decimals)
    frac_text = str(frac).rjust(decimals, "0").rstrip("0")
    return f"{whole}.{frac_text}" if frac_text else str(whole)
