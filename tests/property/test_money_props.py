"""Property tests: decimal strings and base units round-trip exactly."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gamepay.core.money import MAX_AMOUNT, format_amount, parse_amount

amounts = st.integers(min_value=1, max_value=MAX_AMOUNT)
places = st.integers(min_value=0, max_value=77)


@given(amounts, places)
def test_units_round_trip_through_text(units: int, decimals: int) -> None:
    """format then parse returns the same base units."""
    assert parse_amount(format_amount(units, decimals), decimals) == units


@given(st.integers(min_value=0, max_value=10**30), st.integers(0, 10**18 - 1), st.integers(0, 18))
def test_text_round_trip_is_canonical(whole: int, frac: int, decimals: int) -> None:
    """parse then format returns the canonical form of the same value."""
    frac_text = str(frac).rjust(18, "0")[:decimals]
    text = f"{whole}.{frac_text}" if decimals else str(whole)
    units = whole * 10**decimals + (int(frac_text) if frac_text else 0)
    if units == 0:
        return
    formatted = format_amount(parse_amount(text, decimals), decimals)
    assert parse_amount(formatted, decimals) == units
    assert not formatted.endswith(".")
    assert ("." not in formatted) or not formatted.endswith("0")
