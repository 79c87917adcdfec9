"""The player-to-player trade lifecycle as a transition table (data), like ``core.holds``.

```
(new) --offer--> open --accept (the recipient)--> accepted
                  |----decline (the recipient)--> declined
                  |----cancel (the proposer)----> cancelled
                  '----expire (anyone, once due)-> expired
```

An offer holds the proposer's side (one ledger hold per ``give`` line, proposer -> recipient).
``accepted`` posts those holds and moves the recipient's ``want`` side to the proposer in the
same transaction; every other final status voids the holds. Every status but ``open`` is final,
so a trade settles at most once: the store moves a row only with ``UPDATE ... WHERE status =
'open'``, and only the one caller whose update touched the row writes the ledger moves.

An action on an open trade whose ``expires_at`` has passed expires it instead (the recipient
can never accept late, even before the sweep has run). Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

__all__ = [
    "FINAL",
    "TRANSITIONS",
    "Role",
    "TradeAction",
    "TradeStatus",
    "Verdict",
    "decide",
    "hold_id",
    "is_due",
    "settlement_id",
]


class TradeStatus(StrEnum):
    """Where a trade is in its life: open, then exactly one final status."""

    OPEN = "open"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class TradeAction(StrEnum):
    """What a player (or the expiry sweep) asks of an open trade."""

    ACCEPT = "accept"
    DECLINE = "decline"
    CANCEL = "cancel"
    EXPIRE = "expire"


class Role(StrEnum):
    """Who may ask for an action: the trade's recipient, its proposer, or anyone (the sweep)."""

    RECIPIENT = "recipient"
    PROPOSER = "proposer"
    ANYONE = "anyone"


@dataclass(frozen=True, slots=True)
class Transition:
    """One legal move of an open trade: ``action`` by ``role`` leads to ``target``."""

    action: TradeAction
    role: Role
    target: TradeStatus
    settles: bool
    """True when the holds are posted (the trade happens); False when they are voided."""


_A = TradeAction
_S = TradeStatus

TRANSITIONS: Final[dict[TradeAction, Transition]] = {
    t.action: t
    for t in (
        Transition(_A.ACCEPT, Role.RECIPIENT, _S.ACCEPTED, True),
        Transition(_A.DECLINE, Role.RECIPIENT, _S.DECLINED, False),
        Transition(_A.CANCEL, Role.PROPOSER, _S.CANCELLED, False),
        Transition(_A.EXPIRE, Role.ANYONE, _S.EXPIRED, False),
    )
}
"""Every legal move of an open trade, by action; a trade that is not open never moves."""

FINAL: Final = frozenset(s for s in TradeStatus if s is not _S.OPEN)
"""The statuses a trade never leaves."""


class Verdict(StrEnum):
    """What the service does with a request on a trade (see :func:`decide`)."""

    MOVE = "move"
    """Apply the transition (if the conditional update still finds the trade open)."""
    EXPIRE = "expire"
    """The trade is due: expire it (release the holds), then refuse the request."""
    REPLAY = "replay"
    """The same player already did this with the same key: answer with the trade as it is."""
    FORBIDDEN = "forbidden"
    """The player may not do this to this trade (not its recipient / proposer)."""
    CLOSED = "closed"
    """The trade is no longer open."""


def decide(
    *,
    status: TradeStatus,
    action: TradeAction,
    actor_role: Role | None,
    due: bool,
    replay: bool,
) -> Verdict:
    """Decide a request: ``actor_role`` is the asking player's part in the trade (None for a
    stranger, ANYONE for the sweep), ``due`` whether ``expires_at`` has passed, ``replay``
    whether the trade was closed by this very request (same action, player and key)."""
    transition = TRANSITIONS[action]
    if transition.role is not Role.ANYONE and actor_role is not transition.role:
        return Verdict.FORBIDDEN
    if status is not _S.OPEN:
        return Verdict.REPLAY if replay and status is transition.target else Verdict.CLOSED
    if due and action is not _A.EXPIRE:
        return Verdict.EXPIRE
    if action is _A.EXPIRE and not due:
        return Verdict.CLOSED  # pragma: no cover - the sweep only asks for due trades
    return Verdict.MOVE


def is_due(expires_at: datetime, now: datetime) -> bool:
    """Whether a trade expiring at ``expires_at`` is expired at ``now``."""
    return now >= expires_at


def hold_id(trade_id: str, index: int) -> str:
    """The ledger hold of the proposer's ``index``-th give line: ``trade:<id>/give/<index>``."""
    return f"trade:{trade_id}/give/{index}"


def settlement_id(trade_id: str) -> str:
    """The ledger batch moving the recipient's side to the proposer: ``trade:<id>/want``."""
    return f"trade:{trade_id}/want"
