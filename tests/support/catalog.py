"""The catalog most tests sell from: one iron sword, 300 TWD, granting one `sword` item."""

from __future__ import annotations

from pathlib import Path

from gamepay.payments import BalancePrice, Catalog, CatalogItem, Grant

__all__ = ["SWORD_CATALOG", "sword", "sword_catalog", "write_catalog"]


def sword(balance_price: BalancePrice | None = None) -> CatalogItem:
    """The iron sword (300 TWD, one `sword` item), optionally also sold for a balance."""
    return CatalogItem(
        sku="sword",
        title="Iron sword",
        price="300",
        currency="TWD",
        grant=Grant(kind="item", code="sword", amount=1),
        balance_price=balance_price,
    )


def sword_catalog(balance_price: BalancePrice | None = None) -> Catalog:
    """A catalog of the sword alone."""
    return Catalog(items=(sword(balance_price),))


SWORD_CATALOG = sword_catalog()
"""The sword-only catalog, sold for fiat only."""


def write_catalog(path: Path, catalog: Catalog = SWORD_CATALOG) -> Path:
    """Write a catalog as the JSON file GAMEPAY_CATALOG_FILE reads; returns the path."""
    path.write_text(catalog.model_dump_json())
    return path
