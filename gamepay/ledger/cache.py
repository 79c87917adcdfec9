"""``LedgerCache``: THE "make sure it exists" cache of accounts and assets.

Accounts and assets are never deleted and never change, so one seen in the database (or just
written) is remembered: ``Ledger.open_account``, ``Ledger.register_asset``, ``Ledger.get_assets``
and every posting's existence check answer from here without the database when they can. The
accounts are bounded (``ACCOUNT_LIMIT``, then the cache starts over: memory stays bounded);
assets are few. Other areas rely on it instead of caches of their own.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.core.accounts import Account
from gamepay.core.assets import Asset
from gamepay.errors import AccountNotFound, AssetNotFound
from gamepay.ledger.rows import account_from_row, asset_from_row
from gamepay.store.schema.ledger import accounts_table, assets_table

__all__ = ["ACCOUNT_LIMIT", "LedgerCache"]

ACCOUNT_LIMIT = 100_000
"""The most accounts the cache holds before it starts over."""

_A = assets_table.c
_C = accounts_table.c


class LedgerCache:
    """Known accounts and assets (one per ``Ledger``); ``require`` loads the missing ones."""

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.assets: dict[str, Asset] = {}

    def remember_account(self, account: Account) -> None:
        """Remember an account that exists (starting over past ``ACCOUNT_LIMIT``)."""
        if len(self.accounts) >= ACCOUNT_LIMIT:
            self.accounts.clear()
        self.accounts[account.id] = account

    def remember_asset(self, asset: Asset) -> None:
        """Remember a registered asset as stored."""
        self.assets[asset.id] = asset

    async def load_assets(self, conn: AsyncConnection, ids: Iterable[str]) -> None:
        """Load the registered assets among ``ids`` that are not known yet."""
        missing = {a for a in ids if a not in self.assets}
        if missing:
            for row in await conn.execute(select(assets_table).where(_A.id.in_(missing))):
                self.remember_asset(asset_from_row(row))

    async def require(
        self, conn: AsyncConnection, accounts: Iterable[str], assets: Iterable[str]
    ) -> dict[str, Account]:
        """Check that ``accounts`` and ``assets`` exist; the accounts by id.

        AccountNotFound / AssetNotFound name the first missing one (in sorted order).
        """
        found_accounts: dict[str, Account] = {}
        missing_accounts: set[str] = set()
        known = self.accounts
        for account_id in accounts:
            account = known.get(account_id)
            if account is None:
                missing_accounts.add(account_id)
            else:
                found_accounts[account_id] = account
        if missing_accounts:
            rows = await conn.execute(select(accounts_table).where(_C.id.in_(missing_accounts)))
            for row in rows:
                found = account_from_row(row)
                found_accounts[found.id] = found
                self.remember_account(found)
            still = sorted(a for a in missing_accounts if a not in found_accounts)
            if still:
                raise AccountNotFound(f"no account {still[0]!r}")
        missing_assets = [a for a in assets if a not in self.assets]
        if missing_assets:
            await self.load_assets(conn, missing_assets)
            still = sorted(a for a in missing_assets if a not in self.assets)
            if still:
                raise AssetNotFound(f"no asset {still[0]!r} is registered")
        return found_accounts
