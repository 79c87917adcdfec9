"""Reward run and payout lifecycles as transition tables (data); the runner moves rows by them.

```
run:     (claimed) --> paying --all posted, ledger program--> paid
                          '--all posted, on-chain program--> sending --all sent--> paid
payout:  (computed) --> pending --posted in the ledger--> paid
```

- A run is inserted ``paying`` in the same transaction that writes every payout of it
  (``pending``), so a run exists with all its payouts or not at all.
- A payout moves ``pending -> paid`` only in the transaction that posts its ledger transfer, so
  it is paid exactly once (the ledger batch id is deterministic, a replay is a no-op).
- A run leaves ``paying`` only when no payout of it is ``pending``; an on-chain run then stays
  ``sending`` until every paid payout has a send outcome. ``paid`` is terminal; nothing moves a
  run or a payout backwards.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from gamepay.errors import IllegalTransition

__all__ = [
    "PAYOUT_TRANSITIONS",
    "RUN_TRANSITIONS",
    "PayoutStatus",
    "PayoutTransition",
    "RunStatus",
    "RunTransition",
    "check_payout_transition",
    "check_run_transition",
]


class RunStatus(StrEnum):
    """Where a reward run (one program, one period) is."""

    PAYING = "paying"
    """Computed; some payouts are still pending."""
    SENDING = "sending"
    """On-chain: every payout is in the ledger, some are not yet sent to wallets."""
    PAID = "paid"
    """Every payout of the run is paid (and, on-chain, has a send outcome)."""


class PayoutStatus(StrEnum):
    """Where one player's payout of a run is."""

    PENDING = "pending"
    """Not yet posted to the ledger."""
    PAID = "paid"
    """Posted to the ledger (``transfer_id`` set)."""


@dataclass(frozen=True, slots=True)
class RunTransition:
    """One legal move of a run, and why it happens."""

    source: RunStatus
    target: RunStatus
    why: str


@dataclass(frozen=True, slots=True)
class PayoutTransition:
    """One legal move of a payout, and why it happens."""

    source: PayoutStatus
    target: PayoutStatus
    why: str


_R = RunStatus
_P = PayoutStatus

RUN_TRANSITIONS: Final[dict[tuple[RunStatus, RunStatus], RunTransition]] = {
    (t.source, t.target): t
    for t in (
        RunTransition(_R.PAYING, _R.PAID, "every payout posted (ledger program)"),
        RunTransition(_R.PAYING, _R.SENDING, "every payout posted (on-chain program)"),
        RunTransition(_R.SENDING, _R.PAID, "every payout has a send outcome (or payout changed)"),
    )
}
"""Every legal move of a run; anything not listed is refused."""

PAYOUT_TRANSITIONS: Final[dict[tuple[PayoutStatus, PayoutStatus], PayoutTransition]] = {
    (t.source, t.target): t
    for t in (PayoutTransition(_P.PENDING, _P.PAID, "posted in the ledger with its chunk"),)
}
"""Every legal move of a payout; anything not listed is refused."""


def check_run_transition(source: RunStatus | str, target: RunStatus | str) -> RunTransition:
    """Return the run transition ``source -> target``, or raise IllegalTransition."""
    try:
        key = (RunStatus(source), RunStatus(target))
    except ValueError as exc:
        raise IllegalTransition(f"not a reward run status: {source!r} -> {target!r}") from exc
    found = RUN_TRANSITIONS.get(key)
    if found is None:
        raise IllegalTransition(f"a reward run cannot go from {key[0]} to {key[1]}")
    return found


def check_payout_transition(
    source: PayoutStatus | str, target: PayoutStatus | str
) -> PayoutTransition:
    """Return the payout transition ``source -> target``, or raise IllegalTransition."""
    try:
        key = (PayoutStatus(source), PayoutStatus(target))
    except ValueError as exc:
        raise IllegalTransition(f"not a reward payout status: {source!r} -> {target!r}") from exc
    found = PAYOUT_TRANSITIONS.get(key)
    if found is None:
        raise IllegalTransition(f"a reward payout cannot go from {key[0]} to {key[1]}")
    return found
