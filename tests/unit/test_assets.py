"""Assets: stable ids, validated fields."""

from __future__ import annotations

import pytest

from gamepay.core.assets import Currency, Item, Token, asset_kind
from gamepay.errors import AssetError

USDT_ARB = "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9"


def test_ids_are_stable_and_prefixed() -> None:
    """Each kind of asset has a prefixed id; token ids lowercase the address."""
    assert Token("arb", USDT_ARB, "USDT", 6).id == f"token:arb:{USDT_ARB.lower()}"
    assert Currency("gold").id == "currency:gold"
    assert Item("sword").id == "item:sword"
    assert Item("sword").decimals == 0
    assert asset_kind(Item("sword").id) == "item"


@pytest.mark.parametrize(
    "make",
    [
        lambda: Token("ARB", USDT_ARB, "USDT", 6),
        lambda: Token("arb", "0x-bad", "USDT", 6),
        lambda: Token("arb", USDT_ARB, "", 6),
        lambda: Token("arb", USDT_ARB, "USDT", -1),
        lambda: Token("arb", USDT_ARB, "USDT", 6.0),
        lambda: Currency("gold coins"),
        lambda: Currency("gold", True),
        lambda: Item(""),
    ],
)
def test_bad_assets_refused(make: object) -> None:
    """Malformed asset fields raise AssetError."""
    with pytest.raises(AssetError):
        make()  # type: ignore[operator]


def test_asset_kind_refuses_unknown_prefix() -> None:
    """An id without a known prefix is refused."""
    with pytest.raises(AssetError):
        asset_kind("coin:x")
