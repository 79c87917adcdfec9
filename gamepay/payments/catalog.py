"""The catalog: what players can buy, at which fiat price, and what they receive.

```python
catalog = Catalog(items=[
    CatalogItem(sku="sword", title="Iron sword", price="300.0", currency="TWD",
                grant=Grant(kind="item", code="sword", amount=1),
                balance_price=BalancePrice(asset_id="currency:gold", amount=500)),
])
```
Prices are fiat decimal strings (as KryptoGO takes them); what the buyer receives is an exact
int amount of an item (whole units) or of an in-game currency (in its base units). An item with a
``balance_price`` can also be bought with a balance the player already holds (any ledger asset).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gamepay.core.assets import Currency, Item, asset_kind
from gamepay.core.money import MAX_DECIMALS, check_amount
from gamepay.errors import AmountError, AssetError, InvalidInput, UnknownSku
from gamepay.kryptogo.inputs import check_fiat_amount
from gamepay.kryptogo.models import FiatCurrency

__all__ = ["BalancePrice", "Catalog", "CatalogItem", "Grant"]

_SKU = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")


def _check_units(value: int) -> int:
    try:
        return check_amount(value)
    except AmountError as exc:
        raise ValueError(exc.message) from exc


class Grant(BaseModel):
    """What the buyer receives: ``amount`` base units of an item or an in-game currency."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["item", "currency"]
    code: str
    amount: int = Field(strict=True)
    decimals: int = Field(default=0, ge=0, le=MAX_DECIMALS, strict=True)

    @field_validator("amount")
    @classmethod
    def _positive(cls, value: int) -> int:
        """The amount is an exact positive int of base units."""
        return _check_units(value)

    @model_validator(mode="after")
    def _valid_asset(self) -> Grant:
        """The code must make a valid asset; items are whole (decimals 0)."""
        try:
            self.asset  # noqa: B018 - builds and validates the asset
        except AssetError as exc:
            raise ValueError(exc.message) from exc
        if self.kind == "item" and self.decimals != 0:
            raise ValueError("items are whole: decimals must be 0")
        return self

    @property
    def asset(self) -> Item | Currency:
        """The ledger asset granted."""
        if self.kind == "item":
            return Item(self.code)
        return Currency(self.code, self.decimals)


class BalancePrice(BaseModel):
    """A price in a ledger asset the player holds: ``amount`` base units of ``asset_id``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    asset_id: str
    amount: int = Field(strict=True)

    @field_validator("asset_id")
    @classmethod
    def _asset_id(cls, value: str) -> str:
        """Must be a ledger asset id (``token:..``, ``currency:..``, ``item:..``)."""
        try:
            asset_kind(value)
        except AssetError as exc:
            raise ValueError(exc.message) from exc
        return value

    @field_validator("amount")
    @classmethod
    def _positive(cls, value: int) -> int:
        """The amount is an exact positive int of base units."""
        return _check_units(value)


class CatalogItem(BaseModel):
    """One thing for sale: sku, title, fiat price, what it grants, and an optional balance price."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sku: str
    title: str = Field(min_length=1, max_length=200)
    price: str
    currency: FiatCurrency
    grant: Grant
    balance_price: BalancePrice | None = None

    @field_validator("sku")
    @classmethod
    def _sku(cls, value: str) -> str:
        """1-64 letters, digits, ``_``, ``.``, ``-``."""
        if _SKU.fullmatch(value) is None:
            raise ValueError(f"sku must be 1-64 letters, digits, '_', '.', '-': {value!r}")
        return value

    @field_validator("price")
    @classmethod
    def _price(cls, value: str) -> str:
        """A plain decimal string of at least 0.01 (KryptoGO refuses less)."""
        try:
            return check_fiat_amount(value)
        except InvalidInput as exc:
            raise ValueError(exc.message) from None


class Catalog(BaseModel):
    """Every item for sale, looked up by sku (skus are unique)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    items: tuple[CatalogItem, ...] = ()

    @model_validator(mode="after")
    def _unique_skus(self) -> Catalog:
        """No two items share a sku."""
        skus = [item.sku for item in self.items]
        if len(set(skus)) != len(skus):
            raise ValueError("catalog skus must be unique")
        return self

    def get(self, sku: str) -> CatalogItem:
        """The item with ``sku``; raises UnknownSku."""
        for item in self.items:
            if item.sku == sku:
                return item
        raise UnknownSku(f"no catalog item with sku {sku[:64]!r}")

    def __iter__(self) -> Iterator[CatalogItem]:  # type: ignore[override]
        """Iterate over the items, in catalog order."""
        return iter(self.items)

    def __len__(self) -> int:
        """How many items are for sale."""
        return len(self.items)
