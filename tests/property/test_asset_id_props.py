"""Asset ids: any case spelling of one token address is one asset, in the catalog and the core;
the catalog file format round-trips."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gamepay.core.assets import Token, normalize_asset_id
from gamepay.payments.catalog import BalancePrice, Catalog, CatalogItem, Grant, parse_catalog

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


CODES = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,20}", fullmatch=True)
UNITS = st.integers(min_value=1, max_value=2**256 - 1)


@st.composite
def catalogs(draw: st.DrawFn) -> Catalog:
    """Catalogs with unique skus, any amounts below 2**256, token prices in any case."""
    skus = draw(st.lists(CODES, min_size=0, max_size=4, unique=True))
    items = []
    for sku in skus:
        kind = draw(st.sampled_from(["item", "currency"]))
        decimals = 0 if kind == "item" else draw(st.integers(0, 18))
        price = None
        if draw(st.booleans()):
            asset = draw(
                st.one_of(
                    st.builds(lambda a: f"token:arb:{a}", spellings()),
                    CODES.map("currency:{}".format),
                )
            )
            price = BalancePrice(asset_id=asset, amount=draw(UNITS))
        items.append(
            CatalogItem(
                sku=sku,
                title=draw(st.text(min_size=1, max_size=20)),
                price=draw(st.from_regex(r"[1-9][0-9]{0,6}(\.[0-9]{1,2})?", fullmatch=True)),
                currency=draw(st.sampled_from(["TWD", "USD"])),
                grant=Grant(kind=kind, code=sku, amount=draw(UNITS), decimals=decimals),
                balance_price=price,
            )
        )
    return Catalog(items=tuple(items))


@given(catalogs())
def test_the_file_format_round_trips(catalog: Catalog) -> None:
    """A catalog written as JSON reads back equal (exact big amounts, normalized asset ids)."""
    text = catalog.model_dump_json(by_alias=True, exclude_none=True)
    again = parse_catalog(text)
    assert again == catalog
    assert parse_catalog(again.model_dump_json()) == catalog
