"""The catalog: validation of items and lookups by sku."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from gamepay.core.assets import Currency, Item
from gamepay.errors import UnknownSku
from gamepay.payments.catalog import BalancePrice, Catalog, CatalogItem, Grant

_ITEM = json.dumps(
    {
        "sku": "sword",
        "title": "Iron sword",
        "price": "300",
        "currency": "TWD",
        "grant": {"kind": "item", "code": "sword", "amount": 1},
    }
)


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


USDT_CHECKSUMMED = "token:arb:0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9"
USDT = USDT_CHECKSUMMED.lower()


def test_balance_price_asset_id_is_normalized_once() -> None:
    """A checksummed token address in a balance price is stored as the ledger's lower-case id."""
    price = BalancePrice(asset_id=USDT_CHECKSUMMED, amount=5)
    assert price.asset_id == USDT
    assert BalancePrice(asset_id="currency:Gold", amount=1).asset_id == "currency:Gold"
    with pytest.raises(ValidationError):
        BalancePrice(asset_id="tok:arb:0x1", amount=1)


def test_parse_reports_one_line_per_problem_naming_item_and_field() -> None:
    """Every problem of a catalog file is one line naming the item (sku and index) and field."""
    from gamepay.payments.catalog import CatalogError, parse_catalog

    data = {
        "items": [
            {
                "sku": "sword",
                "title": "Iron sword",
                "price": "0.001",
                "currency": "TWD",
                "grant": {"kind": "item", "code": "sword", "amount": 1},
                "balance_price": {"asset_id": USDT, "amount": 1.5},
            },
            {"title": "nameless", "price": "1", "currency": "EUR", "grant": {}},
        ]
    }
    with pytest.raises(CatalogError) as caught:
        parse_catalog(json.dumps(data), source="shop.json")
    problems = caught.value.problems
    assert all("\n" not in line for line in problems)
    assert any(p.startswith("item 'sword' (items[0]) field price: ") for p in problems)
    assert any(
        p.startswith("item 'sword' (items[0]) field balance_price.amount: ") for p in problems
    )
    assert "items[1] field sku: Field required" in problems
    assert any(p.startswith("items[1] field currency: ") for p in problems)
    assert str(caught.value).splitlines()[0].startswith("shop.json: ")
    assert caught.value.code == "invalid_catalog"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{nope", "not JSON: "),
        ("[]", "must be a JSON object with an 'items' list"),
        ('{"items": [], "extra": 1}', "field extra: Extra inputs are not permitted"),
        (
            '{"items": [' + ",".join([_ITEM] * 2) + "]}",
            "catalog: sku 'sword' is used by two items: skus must be unique",
        ),
    ],
)
def test_parse_whole_file_problems(text: str, expected: str) -> None:
    """Malformed JSON, a non-object, unknown top-level fields and duplicate skus are named."""
    from gamepay.payments.catalog import CatalogError, parse_catalog

    with pytest.raises(CatalogError) as caught:
        parse_catalog(text)
    assert any(p.startswith(expected) for p in caught.value.problems), caught.value.problems


def test_schema_describes_the_file_format() -> None:
    """The JSON Schema names every field of the format, forbids unknown ones, and amounts are
    integers."""
    from gamepay.payments.catalog import CATALOG_SCHEMA_ID, catalog_schema

    schema = catalog_schema()
    assert schema["$id"] == CATALOG_SCHEMA_ID
    assert schema["$schema"].startswith("https://json-schema.org/draft/2020-12")
    assert set(schema["properties"]) == {"$schema", "version", "items"}
    assert schema["additionalProperties"] is False
    item = schema["$defs"]["CatalogItem"]
    assert set(item["required"]) == {"sku", "title", "price", "currency"}
    assert [set(form["required"]) for form in item["oneOf"]] == [{"grant"}, {"grants"}]
    assert item["properties"]["available_from"]["format"] == "date-time"
    assert item["additionalProperties"] is False
    amount = schema["$defs"]["Grant"]["properties"]["amount"]
    assert amount["type"] == "integer"
    assert amount["minimum"] == 1
    assert amount["maximum"] == 2**256 - 1
    json.dumps(schema)  # serializable as is


def test_asset_problems_against_the_ledger() -> None:
    """Balance prices must be in known (or catalog-granted) assets; granted decimals must match."""
    from gamepay.core.assets import Token
    from gamepay.payments.catalog import asset_problems

    gems = Grant(kind="currency", code="gems", amount=100, decimals=2)
    catalog = Catalog(
        items=(
            _sword(balance_price=BalancePrice(asset_id=USDT_CHECKSUMMED, amount=5)),
            _sword(
                sku="gems", grant=gems, balance_price=BalancePrice(asset_id="item:sword", amount=1)
            ),
        )
    )
    token = Token("arb", USDT_CHECKSUMMED.split(":")[2], "USDT", 6)
    assert asset_problems(catalog, {token.id: token}) == []
    problems = asset_problems(catalog, {"currency:gems": Currency("gems", 0)})
    assert problems == [
        f"item 'sword' (items[0]) field balance_price.asset_id: {USDT} is not an asset of the "
        "ledger (list the token in GAMEPAY_WITHDRAWAL_TOKENS, or register the asset first)",
        "item 'gems' (items[1]) field grant.decimals: currency:gems has 0 decimals in the ledger, "
        "not 2",
    ]


_GEMS = {"kind": "currency", "code": "gems", "amount": 100}
_SWORD = {"kind": "item", "code": "sword", "amount": 1}


def test_a_bundle_lists_its_parts_and_grant_is_one_part() -> None:
    """``grants`` makes a bundle whose parts are in file order; ``grant`` is a one-part item."""
    from gamepay.payments.catalog import parse_catalog

    bundle = json.loads(_ITEM) | {"sku": "starter", "grant": None}
    bundle["grants"] = [_GEMS, _SWORD, {"kind": "item", "code": "potion", "amount": 3}]
    del bundle["grant"]
    catalog = parse_catalog(json.dumps({"items": [json.loads(_ITEM), bundle]}))
    assert [p.asset.id for p in catalog.get("starter").parts] == [
        "currency:gems",
        "item:sword",
        "item:potion",
    ]
    assert [p.amount for p in catalog.get("sword").parts] == [1]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"grants": [_GEMS]}, "give exactly one of 'grant' (one thing) and 'grants' (a bundle)"),
        ({"grant": None}, "give exactly one of 'grant' (one thing) and 'grants' (a bundle)"),
        ({"grant": None, "grants": []}, "field grants: Tuple should have at least 1 item"),
        (
            {"grant": None, "grants": [_GEMS, _SWORD, _GEMS | {"amount": 5}]},
            "grants names currency:gems twice: list each asset once, with its total",
        ),
        ({"available_from": "2026-12-24T00:00:00"}, "must be an RFC 3339 timestamp with an offset"),
        ({"available_until": 1766534400}, "must be an RFC 3339 timestamp with an offset"),
        ({"available_from": "2026-02-30T00:00:00Z"}, "not a valid date and time"),
        (
            {
                "available_from": "2026-12-24T00:00:00Z",
                "available_until": "2026-12-24T08:00:00+08:00",
            },
            "available_until must be after available_from",
        ),
        ({"max_per_player": 0}, "field max_per_player: Input should be greater than or equal to 1"),
        ({"max_per_player": 1001}, "field max_per_player: Input should be less than or equal to"),
        ({"max_per_player": "3"}, "field max_per_player: Input should be a valid integer"),
    ],
)
def test_bad_bundles_and_windows_are_named(change: dict[str, object], expected: str) -> None:
    """Both or neither of grant/grants, an empty or duplicate bundle, a timestamp without an
    offset, an empty window and a max_per_player outside 1-1000 or not an integer are each
    one problem line naming the item."""
    from gamepay.payments.catalog import CatalogError, parse_catalog

    item = json.loads(_ITEM) | change
    item = {k: v for k, v in item.items() if not (k == "grant" and v is None)}
    with pytest.raises(CatalogError) as caught:
        parse_catalog(json.dumps({"items": [item]}))
    assert len(caught.value.problems) == 1, caught.value.problems
    assert caught.value.problems[0].startswith("item 'sword' (items[0])")
    assert expected in caught.value.problems[0], caught.value.problems


def test_offer_window_bounds_are_inclusive_then_exclusive() -> None:
    """An item is on sale from ``available_from`` (inclusive) to ``available_until`` (exclusive),
    whatever offsets the two are written with."""
    from datetime import UTC, datetime, timedelta

    from gamepay.payments.catalog import parse_catalog

    item = json.loads(_ITEM) | {
        "available_from": "2026-12-24T08:00:00+08:00",
        "available_until": "2026-12-25T00:00:00Z",
    }
    sword = parse_catalog(json.dumps({"items": [item]})).get("sword")
    start = datetime(2026, 12, 24, tzinfo=UTC)
    tick = timedelta(microseconds=1)
    assert not sword.on_sale(start - tick)
    assert sword.on_sale(start)
    assert sword.on_sale(start + timedelta(days=1) - tick)
    assert not sword.on_sale(start + timedelta(days=1))
    again = parse_catalog(sword.model_dump_json().join(['{"items": [', "]}"])).get("sword")
    assert again == sword
