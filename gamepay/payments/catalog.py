"""The catalog: what players can buy, at which fiat price, and what they receive.

```python
catalog = Catalog(items=[
    CatalogItem(sku="sword", title="Iron sword", price="300.0", currency="TWD",
                grant=Grant(kind="item", code="sword", amount=1),
                balance_price=BalancePrice(asset_id="currency:gold", amount=500)),
])
```
An item grants one thing (``grant``) or several as a bundle (``grants``: one order, one ledger
batch, every part or none); ``item.parts`` is the list either way. Optional ``available_from`` /
``available_until`` bound when it can be bought (``OfferUnavailable`` outside), and
``max_per_player`` how many one player may buy (``PurchaseLimitReached`` beyond).

Prices are fiat decimal strings (as KryptoGO takes them); what the buyer receives is an exact
int amount of an item (whole units) or of an in-game currency (in its base units). An item with a
``balance_price`` can also be bought with a balance the player already holds (any ledger asset);
its ``asset_id`` is normalized once, here (``normalize_asset_id``), so a checksummed token
address names the same asset as the lower-case one the ledger stores.

The same model is the catalog FILE format (``docs/catalog.md``): ``load_catalog(path)`` reads a
JSON file and raises ``CatalogError`` with one line per problem (naming the item and the field),
``catalog_schema()`` is its JSON Schema, and ``asset_problems(catalog, assets)`` checks it
against the ledger's registered assets (what ``gamepay serve`` does at start-up).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from gamepay.core.assets import Asset, Currency, Item, normalize_asset_id
from gamepay.core.money import MAX_DECIMALS, check_amount
from gamepay.core.problems import JsonModelFile
from gamepay.core.subscriptions import MAX_PERIOD_S, Terms
from gamepay.errors import AmountError, AssetError, CatalogError, InvalidInput, UnknownSku
from gamepay.kryptogo.inputs import check_fiat_amount
from gamepay.kryptogo.models import FiatCurrency
from gamepay.ledger.lots import MAX_DURATION_S

__all__ = [
    "CATALOG_SCHEMA_ID",
    "MAX_BUNDLE_PARTS",
    "MAX_PER_PLAYER",
    "BalancePrice",
    "Catalog",
    "CatalogError",
    "CatalogItem",
    "Grant",
    "SubscriptionTerms",
    "asset_problems",
    "catalog_schema",
    "load_catalog",
    "parse_catalog",
]

_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
_SKU = re.compile(_CODE_PATTERN[1:-1])
_AMOUNT_SCHEMA: dict[str, Any] = {
    "type": "integer",
    "minimum": 1,
    "maximum": 2**256 - 1,
    "description": "An exact positive integer of base units (never a float), below 2**256.",
}
MAX_BUNDLE_PARTS = 32
"""The most parts one bundle (``grants``) may hold."""
MAX_PER_PLAYER = 1000
"""The largest ``max_per_player`` (a larger limit is no limit a player meets)."""
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)
CATALOG_SCHEMA_ID = "https://gamepay.dev/schemas/catalog-1.json"
"""The ``$id`` of the catalog file's JSON Schema (format version 1)."""


def _timestamp(value: object) -> datetime:
    """An RFC 3339 timestamp WITH an offset (``2026-12-24T00:00:00+08:00``, ``...Z``)."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("a timestamp needs a UTC offset")
        return value
    if not isinstance(value, str) or _RFC3339.fullmatch(value) is None:
        raise ValueError(
            "must be an RFC 3339 timestamp with an offset, e.g. 2026-12-24T00:00:00+08:00"
        )
    text = value.upper().replace(" ", "T").replace("Z", "+00:00")
    digits = re.search(r"\.(\d+)", text)
    if digits is not None and len(digits.group(1)) > 6:  # fromisoformat takes microseconds
        text = text.replace(digits.group(0), digits.group(0)[:7])
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not a valid date and time: {value!r}") from None


_TIMESTAMP_SCHEMA: dict[str, Any] = {"type": "string", "format": "date-time"}


def _check_units(value: int) -> int:
    try:
        return check_amount(value)
    except AmountError as exc:
        raise ValueError(exc.message) from exc


class Grant(BaseModel):
    """What the buyer receives: ``amount`` base units of an item or an in-game currency."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["item", "currency"] = Field(
        description="``item`` (counted in whole units) or ``currency`` (an in-game currency)."
    )
    code: str = Field(
        description="The item's sku or the currency's code; the asset is ``<kind>:<code>``.",
        json_schema_extra={"pattern": _CODE_PATTERN},
    )
    amount: int = Field(strict=True, json_schema_extra=_AMOUNT_SCHEMA)
    decimals: int = Field(
        default=0,
        ge=0,
        le=MAX_DECIMALS,
        strict=True,
        description="The currency's decimals (``amount`` is in its base units); 0 for items.",
    )
    duration_s: int | None = Field(
        default=None,
        ge=1,
        le=MAX_DURATION_S,
        strict=True,
        description=(
            "Time-limited: the granted amount expires this many seconds after the purchase "
            "is paid (docs/inventory.md); absent = never."
        ),
    )

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

    asset_id: str = Field(
        description=(
            "A ledger asset id: ``token:<chain>:<address>`` (any case: normalized to lower "
            "case), ``currency:<code>`` or ``item:<sku>``."
        ),
        json_schema_extra={"pattern": r"^(token:[A-Za-z0-9_\-]+:[A-Za-z0-9]+|(currency|item):.+)$"},
    )
    amount: int = Field(strict=True, json_schema_extra=_AMOUNT_SCHEMA)

    @field_validator("asset_id")
    @classmethod
    def _asset_id(cls, value: str) -> str:
        """A ledger asset id, normalized (a token address in any case is one asset)."""
        try:
            return normalize_asset_id(value)
        except AssetError as exc:
            raise ValueError(exc.message) from exc

    @field_validator("amount")
    @classmethod
    def _positive(cls, value: int) -> int:
        """The amount is an exact positive int of base units."""
        return _check_units(value)


class SubscriptionTerms(BaseModel):
    """A subscription's terms, in whole seconds: each paid order buys one ``period_s``; the pass
    is kept ``grace_s`` after a period ends; the renewal is offered ``offer_before_s`` before."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    period_s: int = Field(
        ge=60, le=MAX_PERIOD_S, strict=True, description="One paid period, in seconds."
    )
    grace_s: int = Field(
        default=0,
        ge=0,
        le=MAX_PERIOD_S,
        strict=True,
        description="How long the pass is kept after a period ends, waiting for a late renewal.",
    )
    offer_before_s: int = Field(
        default=0,
        ge=0,
        le=MAX_PERIOD_S,
        strict=True,
        description="From how long before a period ends the renewal is offered (a push).",
    )

    @model_validator(mode="after")
    def _offer_inside(self) -> SubscriptionTerms:
        """The offer starts inside the period."""
        if self.offer_before_s >= self.period_s:
            raise ValueError("offer_before_s must be shorter than period_s")
        return self

    @property
    def terms(self) -> Terms:
        """The terms as ``gamepay.core.subscriptions.Terms``."""
        return Terms(self.period_s, self.grace_s, self.offer_before_s)


class CatalogItem(BaseModel):
    """One thing for sale: sku, title, fiat price, what it grants, and an optional balance price."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={
            "oneOf": [
                {"required": ["grant"], "properties": {"grant": {"type": "object"}}},
                {"required": ["grants"], "properties": {"grants": {"type": "array"}}},
            ]
        },
    )

    sku: str = Field(
        description="Unique in the catalog: 1-64 letters, digits, ``_``, ``.``, ``-``.",
        json_schema_extra={"pattern": _CODE_PATTERN},
    )
    title: str = Field(min_length=1, max_length=200, description="Shown to players.")
    price: str = Field(
        description='The fiat price as a decimal string, at least 0.01 (``"300"``, ``"1.5"``).',
        json_schema_extra={"pattern": r"^[0-9]+(\.[0-9]+)?$"},
    )
    currency: FiatCurrency = Field(description="The fiat currency of ``price``.")
    grant: Grant | None = Field(
        default=None, description="What the buyer receives (exactly one of grant and grants)."
    )
    grants: tuple[Grant, ...] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_BUNDLE_PARTS,
        description=(
            "A bundle: everything the buyer receives, all in one order (exactly one of grant "
            "and grants); each asset at most once."
        ),
    )
    balance_price: BalancePrice | None = Field(
        default=None,
        description="Also for sale for this amount of a ledger asset the player holds.",
    )
    available_from: datetime | None = Field(
        default=None,
        description="On sale from this RFC 3339 time with an offset (inclusive).",
        json_schema_extra=_TIMESTAMP_SCHEMA,
    )
    available_until: datetime | None = Field(
        default=None,
        description="On sale until this RFC 3339 time with an offset (exclusive).",
        json_schema_extra=_TIMESTAMP_SCHEMA,
    )
    max_per_player: int | None = Field(
        default=None,
        ge=1,
        le=MAX_PER_PLAYER,
        strict=True,
        description=(
            "At most this many orders of the item per player, paid or still payable (a pending "
            f"crypto order holds one of them), 1-{MAX_PER_PLAYER}."
        ),
    )

    @field_validator("available_from", "available_until", mode="before")
    @classmethod
    def _window(cls, value: object) -> datetime | None:
        """RFC 3339 with an offset (a time without one names no instant)."""
        return None if value is None else _timestamp(value)

    @model_validator(mode="after")
    def _one_grant_form(self) -> CatalogItem:
        """Exactly one of grant and grants; no asset twice in a bundle; a non-empty window."""
        if (self.grant is None) == (self.grants is None):
            raise ValueError("give exactly one of 'grant' (one thing) and 'grants' (a bundle)")
        seen: set[str] = set()
        for part in self.parts:
            if part.asset.id in seen:
                raise ValueError(
                    f"grants names {part.asset.id} twice: list each asset once, with its total"
                )
            seen.add(part.asset.id)
        start, end = self.available_from, self.available_until
        if start is not None and end is not None and end <= start:
            raise ValueError("available_until must be after available_from")
        return self

    subscription: SubscriptionTerms | None = Field(
        default=None,
        description=(
            "Sold as a subscription: each paid order buys the next period of the pass it "
            "grants (docs/catalog.md#subscriptions)."
        ),
    )

    @model_validator(mode="after")
    def _subscription_rules(self) -> CatalogItem:
        """A subscription grants one pass, timed by its periods, and is paid in crypto only."""
        if self.subscription is None:
            return self
        if self.grants is not None:
            raise ValueError("a subscription grants one pass: use 'grant', not 'grants'")
        if any(part.duration_s is not None for part in self.parts):
            raise ValueError("a subscription's periods time its pass: drop grant.duration_s")
        if self.balance_price is not None:
            raise ValueError("a subscription is renewed by crypto intents: drop balance_price")
        return self

    @property
    def parts(self) -> tuple[Grant, ...]:
        """Everything one purchase grants: ``(grant,)`` or the bundle's ``grants``."""
        if self.grants is not None:
            return self.grants
        assert self.grant is not None  # the validator requires one of the two
        return (self.grant,)

    def on_sale(self, now: datetime) -> bool:
        """Whether ``now`` (an aware time) is inside the offer window."""
        if self.available_from is not None and now < self.available_from:
            return False
        return self.available_until is None or now < self.available_until

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

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        populate_by_name=True,
        title="gamepay catalog",
        json_schema_extra={
            "description": "What players can buy (gamepay catalog file format, version 1)."
        },
    )

    schema_url: str | None = Field(
        default=None,
        alias="$schema",
        description="Optional: the schema's URL, for editors. Ignored by gamepay.",
    )
    version: Literal[1] = Field(default=1, description="The file format's version.")
    items: tuple[CatalogItem, ...] = Field(default=(), description="Everything for sale.")

    @model_validator(mode="after")
    def _unique_skus(self) -> Catalog:
        """No two items share a sku."""
        seen: set[str] = set()
        for item in self.items:
            if item.sku in seen:
                raise ValueError(f"sku {item.sku!r} is used by two items: skus must be unique")
            seen.add(item.sku)
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


_CATALOG_FILE = JsonModelFile(
    Catalog, CatalogError, entries="items", key="sku", noun="item", cut=64, top="catalog"
)


def parse_catalog(data: str | bytes, *, source: str = "catalog") -> Catalog:
    """A catalog from its JSON text; CatalogError with one line per problem."""
    return _CATALOG_FILE.parse(data, source=source)


def load_catalog(path: str | Path) -> Catalog:
    """The catalog in the JSON file ``path``; CatalogError (one line per problem) if unusable."""
    return _CATALOG_FILE.load(path)


def catalog_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the catalog file."""
    schema = Catalog.model_json_schema(by_alias=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": CATALOG_SCHEMA_ID,
        **schema,
    }


def asset_problems(catalog: Catalog, assets: Mapping[str, Asset]) -> list[str]:
    """What in ``catalog`` disagrees with the ledger's registered ``assets`` (one line each).

    A granted asset already registered must have the catalog's decimals; a balance price must
    be in a registered asset or in one the catalog grants (buying it would fail otherwise).
    """
    granted = {part.asset.id: part.asset for item in catalog for part in item.parts}
    problems = []
    for index, item in enumerate(catalog):
        name = f"item {item.sku!r} (items[{index}])"
        for number, part in enumerate(item.parts):
            asset = part.asset
            known = assets.get(asset.id)
            if known is not None and known.decimals != asset.decimals:
                field = "grant" if item.grants is None else f"grants[{number}]"
                problems.append(
                    f"{name} field {field}.decimals: {asset.id} has {known.decimals} decimals "
                    f"in the ledger, not {asset.decimals}"
                )
        price = item.balance_price
        if price is not None and price.asset_id not in assets and price.asset_id not in granted:
            problems.append(
                f"{name} field balance_price.asset_id: {price.asset_id} is not an asset of the "
                "ledger (list the token in GAMEPAY_WITHDRAWAL_TOKENS, or register the asset first)"
            )
    return problems
