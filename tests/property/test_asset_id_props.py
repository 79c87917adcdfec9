"""Asset ids: any case spelling of one token address is one asset, in the catalog and the core."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gamepay.core.assets import Token, normalize_asset_id
from gamepay.payments.catalog import BalancePrice

ADDRESS = "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9"


@st.composite
def spellings(draw: st.DrawFn) -> str:
    """The address with every letter's case drawn independently."""
    flips = draw(st.lists(st.booleans(), min_size=len(ADDRESS), max_size=len(ADDRESS)))
    return "".join(c.upper() if up else c.lower() for c, up in zip(ADDRESS, flips, strict=True))


@given(spellings(), st.sampled_from(["arb", "ARB", "Arb"]))
def test_any_spelling_is_one_asset(address: str, chain: str) -> None:
    """Every spelling normalizes to the id the ledger stores for the token, idempotently."""
    expected = Token("arb", ADDRESS, "USDT", 6).id
    spelled = f"token:{chain}:{address}"
    assert normalize_asset_id(spelled) == expected
    assert normalize_asset_id(expected) == expected
    assert BalancePrice(asset_id=spelled, amount=1).asset_id == expected


@given(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}", fullmatch=True))
def test_currency_and_item_codes_are_kept(code: str) -> None:
    """In-game codes are case-sensitive names: normalizing keeps them as written."""
    assert normalize_asset_id(f"currency:{code}") == f"currency:{code}"
    assert normalize_asset_id(f"item:{code}") == f"item:{code}"
