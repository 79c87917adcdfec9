"""The organization's treasury per chain and token, and the append-only record of transfers.

Every asset_pro transfer the sandbox executes is appended to ``TransferLog`` and never changed.
A record holds only what the documented request and answer carry (chain, token, wallet, amount;
transfer id, tx hash, time): no note, so reconciliation is tested the way a studio does it, from
an export of these records (``TransferLog.export_rows``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from gamepay.core.money import format_amount

__all__ = ["TransferLog", "Treasury", "TreasuryTransfer"]


@dataclass(frozen=True)
class TreasuryTransfer:
    """One executed asset_pro transfer, amounts in base units."""

    seq: int
    transfer_id: str
    tx_hash: str
    chain_id: str
    contract_address: str
    symbol: str
    decimals: int
    amount: int
    wallet_address: str
    executed_at: int

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form, the amount as a decimal string."""
        data = asdict(self)
        data["amount"] = format_amount(self.amount, self.decimals)
        return data

    def to_export(self) -> dict[str, str]:
        """One row of a Studio-style transfer export (every value a string; see
        ``docs/operations.md`` for the columns ``gamepay withdrawals reconcile`` reads)."""
        return {
            "id": self.transfer_id,
            "tx_hash": self.tx_hash,
            "chain_id": self.chain_id,
            "contract_address": self.contract_address,
            "wallet_address": self.wallet_address,
            "amount": format_amount(self.amount, self.decimals),
            "transfer_time": str(self.executed_at),
            "status": "success",
        }


class Treasury:
    """Balances in base units keyed by ``(chain_id, contract address)``."""

    def __init__(self) -> None:
        self._balances: dict[tuple[str, str], int] = {}

    def balance(self, chain_id: str, address: str) -> int:
        """The balance of one token (0 if never funded)."""
        return self._balances.get((chain_id, address), 0)

    def fund(self, chain_id: str, address: str, amount: int) -> int:
        """Add ``amount`` (> 0) and return the new balance."""
        if type(amount) is not int or amount <= 0:
            raise ValueError("fund takes a positive int of base units")
        key = (chain_id, address)
        self._balances[key] = self._balances.get(key, 0) + amount
        return self._balances[key]

    def try_debit(self, chain_id: str, address: str, amount: int) -> bool:
        """Take ``amount`` if the balance covers it; False (and nothing changed) otherwise."""
        key = (chain_id, address)
        held = self._balances.get(key, 0)
        if held < amount:
            return False
        self._balances[key] = held - amount
        return True

    def balances(self) -> dict[tuple[str, str], int]:
        """A copy of every balance."""
        return dict(self._balances)


class TransferLog:
    """Append-only record of executed transfers."""

    def __init__(self) -> None:
        self._records: list[TreasuryTransfer] = []

    def append(self, record: TreasuryTransfer) -> None:
        """Record one executed transfer."""
        self._records.append(record)

    def __len__(self) -> int:
        """How many transfers were executed."""
        return len(self._records)

    def records(self) -> list[TreasuryTransfer]:
        """A copy of every record, oldest first."""
        return list(self._records)

    def export_rows(self) -> list[dict[str, str]]:
        """Every record as a row of a Studio-style transfer export, oldest first."""
        return [record.to_export() for record in self._records]
