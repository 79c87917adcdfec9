"""Reading withdrawals: one by id, a filtered list, a player's daily-limit total."""

from __future__ import annotations

import builtins
from datetime import date

from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.core.withdrawals import WithdrawalStatus
from gamepay.errors import InvalidInput, WithdrawalNotFound
from gamepay.store import Store
from gamepay.withdrawals.records import Withdrawal
from gamepay.withdrawals.repository import WithdrawalRepository

__all__ = ["WithdrawalReads"]


class WithdrawalReads:
    """The read side of the withdrawals service (``Withdrawals`` is one)."""

    def __init__(self, store: Store, rows: WithdrawalRepository) -> None:
        self._store = store
        self._rows = rows

    async def get(self, withdrawal_id: str) -> Withdrawal:
        """The withdrawal with that id, or WithdrawalNotFound."""

        async def run(conn: AsyncConnection) -> Withdrawal | None:
            return await self._rows.get(conn, withdrawal_id)

        found = await self._store.run(run)
        if found is None:
            raise WithdrawalNotFound(f"no withdrawal {withdrawal_id!r}")
        return found

    async def list(
        self, status: WithdrawalStatus | str | None = None, player_id: str | None = None
    ) -> builtins.list[Withdrawal]:
        """Withdrawals, oldest first, optionally only one status and/or one player's."""
        try:
            wanted = None if status is None else WithdrawalStatus(status)
        except ValueError:
            raise InvalidInput(f"not a withdrawal status: {status!r}") from None

        async def run(conn: AsyncConnection) -> builtins.list[Withdrawal]:
            return await self._rows.list(conn, wanted, player_id)

        result: builtins.list[Withdrawal] = await self._store.run(run)
        return result

    async def day_total(self, player_id: str, asset_id: str, day: date) -> int:
        """The amount counting toward ``player_id``'s daily limit of ``asset_id`` on ``day``."""

        async def run(conn: AsyncConnection) -> int:
            return await self._rows.day_total(conn, player_id, asset_id, day)

        total: int = await self._store.run(run)
        return total
