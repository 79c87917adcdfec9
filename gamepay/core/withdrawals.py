"""The withdrawal lifecycle as a transition table (data), and what each move does to the hold.

```
requested --hold--> held --(mark)--> sending --post--> sent
                     |                  |---void--> failed
                     |                  '--(keep)-> unknown --post--> sent
                     '--void--> failed                      '--void--> failed
```

- ``requested`` exists only inside the transaction that creates a withdrawal: the row and the
  ledger hold are written together, so a stored withdrawal starts at ``held``.
- ``sending`` is persisted *before* the transfer call; the transfer is called only by whoever
  moved the row from ``held`` to ``sending``, so it is called at most once per withdrawal.
- ``unknown`` means the call may or may not have moved the tokens (timeout, crash while
  ``sending``): the hold stays until reconciliation or an operator says ``sent`` or ``failed``.
- ``failed`` always means the hold was voided (the funds are back); ``sent`` that it was posted.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from enum import StrEnum
from typing import Final

from gamepay.errors import IllegalTransition

__all__ = [
    "COUNTS_TOWARD_LIMIT",
    "HOLD_OPEN",
    "TERMINAL",
    "TRANSITIONS",
    "HoldEffect",
    "Transition",
    "WithdrawalStatus",
    "check_transition",
    "hold_id_for",
    "limit_day",
]


class WithdrawalStatus(StrEnum):
    """Where a withdrawal is in its lifecycle."""

    REQUESTED = "requested"
    HELD = "held"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"


class HoldEffect(StrEnum):
    """What a transition does to the withdrawal's ledger hold."""

    HOLD = "hold"
    NONE = "none"
    POST = "post"
    VOID = "void"


@dataclass(frozen=True, slots=True)
class Transition:
    """One legal move: from ``source`` to ``target``, with its effect on the hold."""

    source: WithdrawalStatus
    target: WithdrawalStatus
    effect: HoldEffect
    why: str


_S = WithdrawalStatus
_E = HoldEffect

TRANSITIONS: Final[dict[tuple[WithdrawalStatus, WithdrawalStatus], Transition]] = {
    (t.source, t.target): t
    for t in (
        Transition(_S.REQUESTED, _S.HELD, _E.HOLD, "funds held with the new withdrawal row"),
        Transition(_S.HELD, _S.SENDING, _E.NONE, "persisted just before the transfer call"),
        Transition(_S.HELD, _S.FAILED, _E.VOID, "never sent (recovery): the API was not called"),
        Transition(_S.SENDING, _S.SENT, _E.POST, "the API confirmed the transfer"),
        Transition(_S.SENDING, _S.FAILED, _E.VOID, "the API definitely refused the transfer"),
        Transition(_S.SENDING, _S.UNKNOWN, _E.NONE, "timeout or crash: outcome unknown"),
        Transition(_S.UNKNOWN, _S.SENT, _E.POST, "reconciliation/operator: it was sent"),
        Transition(_S.UNKNOWN, _S.FAILED, _E.VOID, "reconciliation/operator: it was not sent"),
    )
}
"""Every legal move; anything not listed is refused."""

TERMINAL: Final = frozenset({_S.SENT, _S.FAILED})
"""Statuses nothing leaves."""

HOLD_OPEN: Final = frozenset({_S.HELD, _S.SENDING, _S.UNKNOWN})
"""Statuses whose ledger hold is still open (funds held, neither posted nor voided)."""

COUNTS_TOWARD_LIMIT: Final = frozenset({_S.HELD, _S.SENDING, _S.SENT, _S.UNKNOWN})
"""Statuses whose amount counts toward the player's daily limit (a failed one does not)."""


def check_transition(source: WithdrawalStatus | str, target: WithdrawalStatus | str) -> Transition:
    """Return the transition ``source -> target``, or raise IllegalTransition."""
    try:
        key = (WithdrawalStatus(source), WithdrawalStatus(target))
    except ValueError as exc:
        raise IllegalTransition(f"not a withdrawal status: {source!r} -> {target!r}") from exc
    found = TRANSITIONS.get(key)
    if found is None:
        raise IllegalTransition(f"withdrawal cannot go from {key[0]} to {key[1]}")
    return found


def hold_id_for(withdrawal_id: str) -> str:
    """Return the ledger hold id of a withdrawal (stable, derived from its id)."""
    return f"withdrawal:{withdrawal_id}"


def limit_day(at: datetime, zone: tzinfo) -> date:
    """Return the calendar day in ``zone`` that a withdrawal made at ``at`` counts against."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("limit_day needs a timezone-aware datetime")
    return at.astimezone(zone).date()
