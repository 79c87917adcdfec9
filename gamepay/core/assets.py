"""What the ledger counts: on-chain tokens, in-game currencies and in-game items.

Every asset has a stable string ``id`` the ledger stores:
``token:<chain>:<lowercase address>``, ``currency:<code>`` and ``item:<sku>``.
``normalize_asset_id`` turns any spelling a user may write (a checksummed token address) into
that id, so one token is one asset however its address is spelled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from gamepay.core.money import MAX_DECIMALS
from gamepay.errors import AssetError

__all__ = ["Asset", "Currency", "Item", "Token", "asset_kind", "normalize_asset_id"]

_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
_CHAIN = re.compile(r"[a-z0-9][a-z0-9_\-]{0,31}")
_TOKEN_ADDRESS = re.compile(r"[A-Za-z0-9]{1,128}")


def _check_code(value: object, what: str) -> str:
    if not isinstance(value, str) or _CODE.fullmatch(value) is None:
        raise AssetError(f"{what} must be 1-64 letters, digits, '_', '.', '-': {value!r}")
    return value


def _check_decimals(value: object) -> int:
    if type(value) is not int or not 0 <= value <= MAX_DECIMALS:
        raise AssetError(f"decimals must be an int in 0..{MAX_DECIMALS}: {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Token:
    """An on-chain token: chain id (``"arb"``), contract address, symbol and decimals."""

    chain_id: str
    address: str
    symbol: str
    decimals: int

    def __post_init__(self) -> None:
        if not isinstance(self.chain_id, str) or _CHAIN.fullmatch(self.chain_id) is None:
            raise AssetError(f"chain id must be lowercase letters/digits: {self.chain_id!r}")
        if not isinstance(self.address, str) or _TOKEN_ADDRESS.fullmatch(self.address) is None:
            raise AssetError(f"token address must be alphanumeric: {self.address!r}")
        _check_code(self.symbol, "symbol")
        _check_decimals(self.decimals)

    @property
    def kind(self) -> Literal["token"]:
        """Always ``"token"``."""
        return "token"

    @property
    def id(self) -> str:
        """Stable ledger id: ``token:<chain>:<lowercase address>``."""
        return f"token:{self.chain_id}:{self.address.lower()}"


@dataclass(frozen=True, slots=True)
class Currency:
    """An in-game currency (gold, gems) with its own number of decimals (often 0)."""

    code: str
    decimals: int = 0

    def __post_init__(self) -> None:
        _check_code(self.code, "currency code")
        _check_decimals(self.decimals)

    @property
    def kind(self) -> Literal["currency"]:
        """Always ``"currency"``."""
        return "currency"

    @property
    def id(self) -> str:
        """Stable ledger id: ``currency:<code>``."""
        return f"currency:{self.code}"


@dataclass(frozen=True, slots=True)
class Item:
    """An in-game item counted in whole units (decimals is always 0)."""

    sku: str

    def __post_init__(self) -> None:
        _check_code(self.sku, "item sku")

    @property
    def kind(self) -> Literal["item"]:
        """Always ``"item"``."""
        return "item"

    @property
    def decimals(self) -> int:
        """Items are whole: always 0."""
        return 0

    @property
    def id(self) -> str:
        """Stable ledger id: ``item:<sku>``."""
        return f"item:{self.sku}"


Asset = Token | Currency | Item
"""Any asset the ledger can count."""


def asset_kind(asset_id: str) -> Literal["token", "currency", "item"]:
    """Return the kind named by an asset id's prefix, or raise AssetError."""
    prefix = asset_id.split(":", 1)[0]
    if prefix == "token":
        return "token"
    if prefix == "currency":
        return "currency"
    if prefix == "item":
        return "item"
    raise AssetError(f"not an asset id: {asset_id!r}")


def normalize_asset_id(asset_id: str) -> str:
    """The ledger's spelling of ``asset_id``: a token's chain and address in lower case.

    ``token:arb:0xAbC..`` and ``token:arb:0xabc..`` are one asset (``Token.id`` lowercases the
    address). Currency and item codes are kept as written. Raises AssetError for a string that
    is not an asset id (unknown prefix, malformed chain, address or code).
    """
    if not isinstance(asset_id, str):
        raise AssetError(f"an asset id must be a string: {asset_id!r}")
    kind = asset_kind(asset_id)
    rest = asset_id.split(":", 1)[1] if ":" in asset_id else ""
    if kind == "token":
        chain, _, address = rest.partition(":")
        chain = chain.lower()
        if _CHAIN.fullmatch(chain) is None:
            raise AssetError(f"not a token id (token:<chain>:<address>): {asset_id!r}")
        if _TOKEN_ADDRESS.fullmatch(address) is None:
            raise AssetError(f"token address must be alphanumeric: {asset_id!r}")
        return f"token:{chain}:{address.lower()}"
    _check_code(rest, f"{kind} code")
    return f"{kind}:{rest}"
