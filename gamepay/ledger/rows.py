"""Between the ledger's rows and its values: assets, accounts, transfer and hold records."""

from __future__ import annotations

from typing import Any

from gamepay.core.accounts import Account, AccountKind
from gamepay.core.assets import Asset, Currency, Item, Token
from gamepay.core.holds import HoldStatus, TransferPhase
from gamepay.core.transfers import TransferKind
from gamepay.errors import AccountMismatch, InvalidInput
from gamepay.ledger.records import HoldRecord, TransferRecord
from gamepay.store.schema.ledger import holds_table, transfers_table

__all__ = [
    "HOLD_COLUMNS",
    "MAX_ID",
    "TRANSFER_COLUMNS",
    "account_from_row",
    "asset_code",
    "asset_from_row",
    "asset_row",
    "check_id",
    "check_same_account",
    "hold_record",
    "same_asset",
    "transfer_record",
]

MAX_ID = 200

_T = transfers_table.c
_H = holds_table.c

TRANSFER_COLUMNS = (
    _T.id,
    _T.debit,
    _T.credit,
    _T.asset,
    _T.amount,
    _T.kind,
    _T.memo,
    _T.created_at,
    _T.batch_id,
    _T.hold_id,
    _T.phase,
)
"""The columns a ``TransferRecord`` is read from."""

HOLD_COLUMNS = (
    _H.id,
    _H.debit,
    _H.credit,
    _H.asset,
    _H.amount,
    _H.kind,
    _H.memo,
    _H.status,
    _H.created_at,
    _H.posted_amount,
    _H.resolved_at,
)
"""The columns a ``HoldRecord`` is read from."""


def check_id(value: object, what: str) -> str:
    """``value`` if it is a printable string of 1-200 characters, else InvalidInput."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ID or not value.isprintable():
        raise InvalidInput(f"{what} must be a printable string of 1-{MAX_ID} characters")
    return value


def account_from_row(row: Any) -> Account:
    """An ``Account`` from a ``gp_accounts`` row."""
    return Account(
        id=row.id,
        kind=AccountKind(row.kind),
        allow_negative=bool(row.allow_negative),
        created_at=row.created_at,
    )


def check_same_account(account: Account, kind: AccountKind, allow_negative: bool) -> None:
    """AccountMismatch unless ``account`` has that kind and ``allow_negative``."""
    if account.kind != kind or account.allow_negative != allow_negative:
        raise AccountMismatch(
            f"account {account.id!r} exists as kind={account.kind}, "
            f"allow_negative={account.allow_negative}"
        )


def transfer_record(row: Any) -> TransferRecord:
    """A ``TransferRecord`` from a row of ``TRANSFER_COLUMNS``."""
    return TransferRecord(
        id=row.id,
        debit=row.debit,
        credit=row.credit,
        asset=row.asset,
        amount=row.amount,
        kind=TransferKind(row.kind),
        memo=row.memo,
        created_at=row.created_at,
        batch_id=row.batch_id,
        hold_id=row.hold_id,
        phase=None if row.phase is None else TransferPhase(row.phase),
    )


def hold_record(row: Any) -> HoldRecord:
    """A ``HoldRecord`` from a row of ``HOLD_COLUMNS``."""
    return HoldRecord(
        id=row.id,
        debit=row.debit,
        credit=row.credit,
        asset=row.asset,
        amount=row.amount,
        kind=TransferKind(row.kind),
        memo=row.memo,
        status=HoldStatus(row.status),
        created_at=row.created_at,
        posted_amount=row.posted_amount,
        resolved_at=row.resolved_at,
    )


def asset_code(asset: Asset) -> str:
    """What ``gp_assets.code`` holds: a token's symbol, a currency's code, an item's sku."""
    if isinstance(asset, Token):
        return asset.symbol
    if isinstance(asset, Currency):
        return asset.code
    if isinstance(asset, Item):
        return asset.sku
    raise InvalidInput(f"not an asset: {type(asset).__name__}")


def asset_row(asset: Asset) -> dict[str, Any]:
    """The ``gp_assets`` row of an asset."""
    token = asset if isinstance(asset, Token) else None
    return {
        "id": asset.id,
        "kind": asset.kind,
        "code": asset_code(asset),
        "decimals": asset.decimals,
        "chain_id": None if token is None else token.chain_id,
        "address": None if token is None else token.address,
    }


def asset_from_row(row: Any) -> Asset:
    """The asset a ``gp_assets`` row describes."""
    if row.kind == "token":
        return Token(row.chain_id, row.address, row.code, int(row.decimals))
    if row.kind == "currency":
        return Currency(row.code, int(row.decimals))
    return Item(row.code)


def same_asset(stored: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """True when two asset rows define the same asset (token addresses compare caselessly)."""
    for name, value in wanted.items():
        have = stored[name]
        if name == "address" and isinstance(have, str) and isinstance(value, str):
            if have.lower() != value.lower():
                return False
        elif have != value:
            return False
    return True
