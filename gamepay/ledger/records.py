"""What the ledger returns: balances, transfer/batch/hold records, history pages, verify reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from gamepay.core.holds import HoldStatus, TransferPhase
from gamepay.core.transfers import TransferKind

__all__ = [
    "Balance",
    "BatchRecord",
    "HistoryPage",
    "HoldRecord",
    "HoldStatus",
    "TransferPhase",
    "TransferRecord",
    "Verification",
    "VerifyReport",
]


@dataclass(frozen=True, slots=True)
class Balance:
    """An account's balance in one asset: ``available`` to spend and ``held`` by pending holds."""

    available: int = 0
    held: int = 0

    @property
    def total(self) -> int:
        """available + held."""
        return self.available + self.held


@dataclass(frozen=True, slots=True)
class TransferRecord:
    """One stored transfer; ``batch_id``/``hold_id`` say whether a batch or a hold made it.

    ``phase`` is None for a plain transfer; a hold's transfers are ``pending``, ``post`` or
    ``void`` (``gamepay.core.holds``): only plain and post transfers move value.
    """

    id: str
    debit: str
    credit: str
    asset: str
    amount: int
    kind: TransferKind
    memo: str | None
    created_at: datetime
    batch_id: str | None = None
    hold_id: str | None = None
    phase: TransferPhase | None = None


@dataclass(frozen=True, slots=True)
class BatchRecord:
    """An atomic batch: its transfers in order (ids ``<batch id>/<index>``).

    ``balances`` holds the (account, asset) balances the batch changed, as the batch left them,
    when this call applied the batch: every player's (and on PostgreSQL every balance it locked
    whole; a system account's spread over slots is left out); it is empty for a replay (read
    balances afresh then).
    """

    id: str
    transfers: tuple[TransferRecord, ...]
    created_at: datetime
    balances: Mapping[tuple[str, str], Balance] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class HoldRecord:
    """A two-phase transfer; ``posted_amount`` is set once posted (maybe below ``amount``)."""

    id: str
    debit: str
    credit: str
    asset: str
    amount: int
    kind: TransferKind
    memo: str | None
    status: HoldStatus
    created_at: datetime
    posted_amount: int | None = None
    resolved_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """Transfers touching an account, newest first; pass ``next_cursor`` for the next page."""

    entries: tuple[TransferRecord, ...]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The outcome of ``Ledger.verify()``: ``ok`` when ``problems`` is empty."""

    problems: tuple[str, ...] = field(default_factory=tuple)
    balances_checked: int = 0
    transfers_checked: int = 0

    @property
    def ok(self) -> bool:
        """True when every balance matched and every asset summed to zero."""
        return not self.problems


@dataclass(frozen=True, slots=True)
class Verification:
    """A recorded ``verify()`` run: its outcome, its first problems, who ran it and when."""

    ok: bool
    problem_count: int
    problems: tuple[str, ...]
    balances_checked: int
    transfers_checked: int
    by: str
    started_at: datetime
    finished_at: datetime
