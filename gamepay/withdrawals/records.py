"""What the withdrawal service hands out: a stored ``Withdrawal``, executed transfers, reports.

Plain values, no I/O: the repository builds ``Withdrawal`` from rows, the service returns them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from gamepay.core.addresses import normalize_address
from gamepay.core.money import parse_amount
from gamepay.core.withdrawals import WithdrawalStatus, hold_id_for
from gamepay.errors import InvalidInput

__all__ = [
    "ExecutedSource",
    "ExecutedTransfer",
    "ExecutedTransferLike",
    "Withdrawal",
    "WithdrawalReconcileReport",
    "WithdrawalRecoveryReport",
    "record_matches",
]


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """One withdrawal as stored. ``reference`` is the stable note sent with the transfer."""

    id: str
    reference: str
    player_id: str
    request_id: str
    asset_id: str
    chain_id: str
    token_address: str
    decimals: int
    amount: int
    address: str
    status: WithdrawalStatus
    limit_day: date
    created_at: datetime
    updated_at: datetime
    transfer_id: str | None = None
    tx_hash: str | None = None
    error: str | None = None

    @property
    def hold_id(self) -> str:
        """The ledger hold backing this withdrawal."""
        return hold_id_for(self.id)


class ExecutedTransferLike(Protocol):
    """One transfer the service executed, as reconciliation reads it (matched on ``note``)."""

    @property
    def note(self) -> str | None:
        """The note sent with the transfer (our withdrawal's ``reference``)."""
        ...

    @property
    def transfer_id(self) -> str | None:
        """The service's id of the transfer."""
        ...

    @property
    def tx_hash(self) -> str | None:
        """The on-chain transaction hash, if known."""
        ...


@dataclass(frozen=True, slots=True)
class ExecutedTransfer:
    """A plain executed-transfer record (e.g. one line of an operator's export).

    ``amount`` (base units, or a decimal string of whole tokens as exports show it) and
    ``wallet_address``, when given, are checked against the withdrawal before it is settled.
    """

    note: str
    transfer_id: str | None = None
    tx_hash: str | None = None
    amount: int | str | None = None
    wallet_address: str | None = None


ExecutedSource = (
    Iterable[ExecutedTransferLike]
    | Callable[[], Iterable[ExecutedTransferLike] | Awaitable[Iterable[ExecutedTransferLike]]]
)
"""What ``reconcile_unknown`` reads: executed records, or a (possibly async) callable of them."""


@dataclass(frozen=True, slots=True)
class WithdrawalRecoveryReport:
    """What ``recover()`` did: ``sending`` rows made ``unknown``, ``held`` rows voided."""

    unknown: tuple[Withdrawal, ...] = ()
    failed: tuple[Withdrawal, ...] = ()


@dataclass(frozen=True, slots=True)
class WithdrawalReconcileReport:
    """What ``reconcile_unknown()`` did with each ``unknown`` withdrawal."""

    sent: tuple[Withdrawal, ...] = ()
    failed: tuple[Withdrawal, ...] = ()
    still_unknown: tuple[Withdrawal, ...] = ()
    mismatched: tuple[Withdrawal, ...] = ()
    """Left ``unknown``: a record carries the note but another amount or address."""


def record_matches(record: object, w: Withdrawal) -> bool:
    """Return False when an executed record names another amount or wallet than ``w``."""
    amount = getattr(record, "amount", None)
    if amount is not None:
        try:
            units = parse_amount(amount, w.decimals) if isinstance(amount, str) else amount
        except InvalidInput:
            return False
        if units != w.amount:
            return False
    wallet = getattr(record, "wallet_address", None)
    if wallet is not None:
        try:
            return bool(normalize_address(w.chain_id, wallet) == w.address)
        except InvalidInput:
            return False
    return True
