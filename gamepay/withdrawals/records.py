"""What the withdrawal service hands out: a stored ``Withdrawal``, executed transfers, reports.

Plain values, no I/O: the repository builds ``Withdrawal`` from rows, the service returns them.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.core.withdrawals import WithdrawalStatus, hold_id_for

_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")

__all__ = [
    "ExecutedSource",
    "ExecutedTransfer",
    "ExecutedTransferLike",
    "MoveHook",
    "Withdrawal",
    "WithdrawalReconcileReport",
    "WithdrawalRecoveryReport",
]


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """One withdrawal as stored. ``reference`` names it in logs and errors (never sent)."""

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

    @property
    def error_code(self) -> str | None:
        """The stable code of the error that failed it (``treasury_insufficient``...), if any.

        An API refusal is stored as ``"<GamepayError code>: <message>"``; other failures have
        no code (None). Show players this code, never ``error``'s text.
        """
        if self.error is None:
            return None
        code, sep, _ = self.error.partition(": ")
        return code if sep and _CODE.fullmatch(code) else None


class ExecutedTransferLike(Protocol):
    """One transfer KryptoGO executed, as reconciliation reads it (every field may be None).

    Only what the documented request and answer carry: the service's transfer id and the tx
    hash, chain, token contract, wallet, amount (base units as an int, or a decimal string of
    whole tokens as exports show it) and when it was executed (an aware datetime or unix
    seconds). A record with a ``status`` other than success never settles a withdrawal as sent.
    The sandbox's ``TreasuryTransfer`` and a parsed export row (``ExecutedTransfer``) both fit.
    """

    @property
    def transfer_id(self) -> str | None:
        """The service's id of the transfer (documented answer field ``id``)."""
        ...

    @property
    def tx_hash(self) -> str | None:
        """The on-chain transaction hash, if known."""
        ...


@dataclass(frozen=True, slots=True)
class ExecutedTransfer:
    """A plain executed-transfer record, e.g. one row of the Studio's transfer export.

    Settling by attributes needs ``wallet_address``, ``amount`` and ``executed_at``;
    ``chain_id`` and ``contract_address``, when given, must match too.
    """

    transfer_id: str | None = None
    tx_hash: str | None = None
    chain_id: str | None = None
    contract_address: str | None = None
    wallet_address: str | None = None
    amount: int | str | None = None
    executed_at: datetime | int | None = None
    status: str | None = None


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
    """Left as they were: no executed record matches (and absence does not mean failed)."""
    mismatched: tuple[Withdrawal, ...] = ()
    """Left for an operator: a record with their transfer id or tx hash differs in amount,
    wallet, chain or token."""
    ambiguous: tuple[Withdrawal, ...] = ()
    """Left for an operator: several records could be theirs (``candidates`` lists them)."""
    candidates: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    """Per withdrawal id left for an operator, the executed records that could be its transfer."""
    dry_run: bool = False
    """True when nothing was changed: ``sent`` and ``failed`` say what would have been done."""


MoveHook = Callable[[AsyncConnection, Withdrawal], Awaitable[None]]
"""Work joined to a withdrawal's move: called in its transaction with the moved withdrawal
(e.g. the operator's audit row); raising rolls the whole move back."""
