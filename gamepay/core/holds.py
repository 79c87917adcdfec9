"""The hold lifecycle (two-phase transfers) as a transition table (data), TigerBeetle-style.

```
(new) --hold--> pending --post (all or part)--> posted
                   '------void---------------> voided
```

Every move writes one immutable transfer, so the transfer log alone tells each hold's story:

- ``hold`` writes the *pending* transfer ``hold:<id>/pending`` (phase ``pending``, the held
  amount): the debit's available goes down and its held goes up by that amount;
- ``post`` writes ``hold:<id>`` (phase ``post``, the posted amount ``P``, ``0 < P <= A``): the
  held ``A`` is released, ``P`` goes to the credit account, ``A - P`` returns to the debit's
  available balance;
- ``void`` writes ``hold:<id>/void`` (phase ``void``, the whole held amount ``A``): everything
  returns to the debit's available balance.

Guarantees (the ledger keeps them; ``Ledger.verify`` checks them):

- A hold is resolved at most once: ``posted`` and ``voided`` are final, so a hold has one pending
  transfer and at most one post or void transfer linked to it (``hold_id``, unique per phase).
- A hold's status is a function of its transfers (``status_of``); the ``gp_holds`` row mirrors it.
- Replays are answered, not refused: posting a posted hold with the same amount (or ``None``
  when it was posted in full) and voiding a voided hold return it unchanged.
- Pending and void transfers move no value between accounts: only the post transfer does, so
  readers of settled activity (history, rewards) read phases ``None`` and ``post`` only.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from gamepay.errors import HoldStateError

__all__ = [
    "OPEN",
    "SETTLED_PHASES",
    "TRANSITIONS",
    "HoldStatus",
    "Move",
    "TransferPhase",
    "Transition",
    "check_resolution",
    "effect",
    "phase_transfer_id",
    "status_of",
]


class HoldStatus(StrEnum):
    """Where a hold is in its life: pending, then posted or voided (final)."""

    PENDING = "pending"
    POSTED = "posted"
    VOIDED = "voided"


class TransferPhase(StrEnum):
    """The part a transfer plays in a hold (``gp_transfers.phase``; None for a plain transfer)."""

    PENDING = "pending"
    POST = "post"
    VOID = "void"


@dataclass(frozen=True, slots=True)
class Transition:
    """One legal move: ``source`` (None: a new hold) to ``target``, writing a ``phase`` transfer."""

    source: HoldStatus | None
    target: HoldStatus
    phase: TransferPhase
    why: str


_S = HoldStatus
_P = TransferPhase

OPEN: Final = Transition(None, _S.PENDING, _P.PENDING, "funds reserved: available -> held")
"""The move that creates a hold."""

TRANSITIONS: Final[dict[tuple[HoldStatus, HoldStatus], Transition]] = {
    (t.source, t.target): t
    for t in (
        Transition(_S.PENDING, _S.POSTED, _P.POST, "all or part paid to the credit account"),
        Transition(_S.PENDING, _S.VOIDED, _P.VOID, "everything back to the debit's available"),
    )
    if t.source is not None
}
"""Every legal move of an existing hold; anything not listed is refused."""

SETTLED_PHASES: Final = frozenset({None, _P.POST})
"""Phases of the transfers that move value between accounts (plain transfers and posts)."""

_STATUS_OF_PHASE: Final = {_P.POST: _S.POSTED, _P.VOID: _S.VOIDED}
_SUFFIX: Final = {_P.PENDING: "/pending", _P.POST: "", _P.VOID: "/void"}


@dataclass(frozen=True, slots=True)
class Move:
    """What a post/void request does: a ``transition`` to apply, or a ``replay`` (no change)."""

    transition: Transition | None
    amount: int

    @property
    def replay(self) -> bool:
        """True when the hold already is where the request wants it (nothing to write)."""
        return self.transition is None


def phase_transfer_id(hold_id: str, phase: TransferPhase) -> str:
    """The id of a hold's ``phase`` transfer: ``hold:<id>/pending``, ``hold:<id>``, ``.../void``."""
    return f"hold:{hold_id}{_SUFFIX[phase]}"


def check_resolution(
    hold_id: str,
    status: HoldStatus,
    held: int,
    posted: int | None,
    target: HoldStatus,
    amount: int | None,
) -> Move:
    """Decide a post (``target`` posted, ``amount`` None = all) or a void of a hold.

    ``held`` is the hold's amount, ``posted`` its posted amount if posted. Returns the move and
    the amount its transfer carries; raises HoldStateError for an illegal or over-large move.
    """
    if status is not _S.PENDING:
        if status is target and (target is _S.VOIDED or (amount or held) == posted):
            return Move(None, held if posted is None else posted)
        raise HoldStateError(f"hold {hold_id!r} is already {status}")
    found = TRANSITIONS.get((status, target))
    if found is None:  # pragma: no cover - only post and void are asked for
        raise HoldStateError(f"hold {hold_id!r} cannot go from {status} to {target}")
    value = held if amount is None or target is _S.VOIDED else amount
    if value > held:
        raise HoldStateError(f"cannot post {value} of hold {hold_id!r} for {held}")
    return Move(found, value)


def effect(phase: TransferPhase, held: int, amount: int) -> tuple[int, int, int]:
    """A phase transfer's balance effect: (debit available, debit held, credit available) deltas.

    ``held`` is the hold's amount, ``amount`` the transfer's.
    """
    if phase is _P.PENDING:
        return (-held, held, 0)
    if phase is _P.POST:
        return (held - amount, -held, amount)
    return (held, -held, 0)


def status_of(phases: Iterable[TransferPhase | str]) -> HoldStatus:
    """A hold's status from the phases of its transfers (pending alone: still pending)."""
    status = _S.PENDING
    for phase in phases:
        resolved = _STATUS_OF_PHASE.get(TransferPhase(phase))
        if resolved is not None:
            if status is not _S.PENDING:
                raise HoldStateError("a hold was resolved twice")
            status = resolved
    return status
