"""The catalog: validation of items and lookups by sku."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gamepay.core.assets import Currency, Item
from gamepay.errors import UnknownSku
from gamepay.payments.catalog import BalancePrice, Catalog, CatalogItem, Grant


def _sword(**over: object) -> CatalogItem:
    values: dict[str, object] = {
        "sku": "sword",
        "title": "Iron sword",
        "price": "300.0",
        "currency": "TWD",
        "grant": Grant(kind="item", code="sword", amount=1),
    }
    values.update(over)
    return CatalogItem.model_validate(values)


def test_lookup_by_sku_and_unknown_sku() -> None:
    """get() finds an item; an unknown sku is a typed error."""
    catalog = Catalog(items=(_sword(),))
    assert catalog.get("sword").title == "Iron sword"
    assert len(catalog) == 1
    assert [i.sku for i in catalog] == ["sword"]
    with pytest.raises(UnknownSku):
        catalog.get("shield")


def test_grant_assets() -> None:
    """A grant names an item or a currency with its decimals."""
    assert Grant(kind="item", code="sword", amount=2).asset == Item("sword")
    gold = Grant(kind="currency", code="gold", amount=10**20, decimals=18)
    assert gold.asset == Currency("gold", 18)


@pytest.mark.parametrize(
    "price", ["0", "-1", "1e3", "1.5.2", "", " 1", "NaN", "0.000", "0.009", "0.001"]
)
def test_bad_prices_refused(price: str) -> None:
    """Prices are positive plain decimal strings."""
    with pytest.raises(ValidationError):
        _sword(price=price)


@pytest.mark.parametrize("amount", [0, -1, 2**256, 1.0, True, "1"])
def test_bad_grant_amounts_refused(amount: object) -> None:
    """Grant amounts are exact positive ints below 2**256."""
    with pytest.raises(ValidationError):
        Grant.model_validate({"kind": "item", "code": "sword", "amount": amount})


def test_items_are_whole_and_skus_unique() -> None:
    """Items take no decimals; duplicate skus and bad currencies are refused."""
    with pytest.raises(ValidationError):
        Grant(kind="item", code="sword", amount=1, decimals=2)
    with pytest.raises(ValidationError):
        Catalog(items=(_sword(), _sword()))
    with pytest.raises(ValidationError):
        _sword(currency="EUR")
    with pytest.raises(ValidationError):
        _sword(sku="has space")


def test_balance_price_validated() -> None:
    """A balance price names a ledger asset id and a positive amount."""
    item = _sword(balance_price=BalancePrice(asset_id="currency:gold", amount=500))
    assert item.balance_price is not None
    assert item.balance_price.amount == 500
    with pytest.raises(ValidationError):
        BalancePrice(asset_id="gold", amount=5)
    with pytest.raises(ValidationError):
        BalancePrice(asset_id="currency:gold", amount=0)


def test_catalog_loads_from_json() -> None:
    """A catalog can be loaded from JSON (operators keep it in a file)."""
    text = (
        '{"items": [{"sku": "gems-100", "title": "100 gems", "price": "3", "currency": "USD",'
        ' "grant": {"kind": "currency", "code": "gems", "amount": 100}}]}'
    )
    catalog = Catalog.model_validate_json(text)
    assert catalog.get("gems-100").grant.asset == Currency("gems")


def test_the_smallest_price_is_one_cent() -> None:
    """0.01 is KryptoGO's minimum fiat amount: the catalog takes it and nothing smaller."""
    assert _sword(price="0.01").price == "0.01"
    with pytest.raises(ValidationError, match=r"at least 0\.01"):
        _sword(price="0.0099")
