"""Protocol 2's one amount convention for pushes: decimal strings beside asset, code, decimals."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gamepay.core.money import parse_amount
from gamepay_ws.amounts import decimal_text, event_data, needs_asset_facts


def test_a_balance_change_reads_in_the_assets_units_with_base_units_beside() -> None:
    """balance_changed's stored base units become decimals; the base units keep a named field."""
    stored = {
        "order_id": "o1",
        "asset_id": "token:arb:0xfd",
        "code": "USDT",
        "decimals": 6,
        "delta": "-5000000",
        "available": "7230770",
        "held": "0",
    }
    assert event_data(stored) == {
        "order_id": "o1",
        "asset": "token:arb:0xfd",
        "code": "USDT",
        "decimals": 6,
        "delta": "-5",
        "delta_base_units": "-5000000",
        "available": "7.23077",
        "available_base_units": "7230770",
        "held": "0",
        "held_base_units": "0",
    }


def test_events_without_assets_pass_and_old_ones_keep_only_base_units() -> None:
    """An order status change is unchanged; an event stored without decimals sends no guess."""
    status = {"order_id": "o", "status": "success", "previous": "pending"}
    assert event_data(status) == status
    old = {"asset_id": "item:sword", "amount": "3"}
    assert needs_asset_facts(old)
    assert event_data(old) == {
        "asset": "item:sword",
        "amount_base_units": "3",
        "code": None,
        "decimals": None,
    }


@given(units=st.integers(-(2**256) + 1, 2**256 - 1), decimals=st.integers(0, 30))
def test_decimal_text_is_exact(units: int, decimals: int) -> None:
    """The decimal string parses back to the very same base units, sign included."""
    text = decimal_text(units, decimals)
    sign = -1 if text.startswith("-") else 1
    magnitude = 0 if text == "0" else parse_amount(text.lstrip("-"), decimals)
    assert sign * magnitude == units
