"""The payment intent lifecycle as data: which status moves an order may make, and how to judge one.

THE transition table: the only moves an order makes (``gamepay.payments.decide`` judges every
observed intent with it) and the only moves the sandbox's intents make
(``gamepay.sandbox.lifecycle``)::

    pending                   -> success | expired | insufficient_not_refunded
    insufficient_not_refunded -> insufficient_refunded
    success, expired, insufficient_refunded: terminal

Judging an observed status against the order's current one (``judge``):

- the same status again is a **duplicate** (no status move; amounts may still have grown,
  e.g. a late payment on an expired intent, which the payments service settles by its policy);
- a status reachable through the table is **applied** as the chain of legal steps (``steps``),
  so an update that skipped an intermediate status (``pending`` seen, then
  ``insufficient_refunded``) still records every step;
- anything else (``success -> pending``, ``expired -> success``) is **refused**: stale or illegal.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

__all__ = [
    "TERMINAL",
    "TRANSITIONS",
    "OrderKind",
    "OrderStatus",
    "PaymentStatus",
    "Verdict",
    "is_legal",
    "judge",
    "steps",
]


class PaymentStatus(StrEnum):
    """The five statuses a payment intent can have."""

    PENDING = "pending"
    SUCCESS = "success"
    EXPIRED = "expired"
    INSUFFICIENT_NOT_REFUNDED = "insufficient_not_refunded"
    INSUFFICIENT_REFUNDED = "insufficient_refunded"


class OrderKind(StrEnum):
    """What an order buys: an item with crypto, a token top-up, or an item with a balance."""

    PURCHASE = "purchase"
    TOP_UP = "top_up"
    BALANCE = "balance"


class OrderStatus(StrEnum):
    """An order's status: ``creating``, the five intent statuses, ``failed`` and ``completed``.

    ``creating``: written, intent not known yet. ``failed``: the API definitely refused to create
    the intent. ``completed``: a buy-with-balance order (settled at once, no intent).
    """

    CREATING = "creating"
    PENDING = "pending"
    SUCCESS = "success"
    EXPIRED = "expired"
    INSUFFICIENT_NOT_REFUNDED = "insufficient_not_refunded"
    INSUFFICIENT_REFUNDED = "insufficient_refunded"
    FAILED = "failed"
    COMPLETED = "completed"


_P = PaymentStatus

TRANSITIONS: Mapping[PaymentStatus, frozenset[PaymentStatus]] = {
    _P.PENDING: frozenset({_P.SUCCESS, _P.EXPIRED, _P.INSUFFICIENT_NOT_REFUNDED}),
    _P.INSUFFICIENT_NOT_REFUNDED: frozenset({_P.INSUFFICIENT_REFUNDED}),
    _P.SUCCESS: frozenset(),
    _P.EXPIRED: frozenset(),
    _P.INSUFFICIENT_REFUNDED: frozenset(),
}
"""Every legal single-step status move."""

TERMINAL: frozenset[PaymentStatus] = frozenset(s for s, nexts in TRANSITIONS.items() if not nexts)
"""Statuses an intent never leaves."""


class Verdict(StrEnum):
    """What to do with an observed status, given the order's current one."""

    APPLY = "apply"
    DUPLICATE = "duplicate"
    REFUSE = "refuse"


def is_legal(old: PaymentStatus, new: PaymentStatus) -> bool:
    """True when the table allows the single step ``old -> new``."""
    return new in TRANSITIONS[old]


def steps(old: PaymentStatus, new: PaymentStatus) -> tuple[PaymentStatus, ...] | None:
    """The shortest chain of legal steps from ``old`` to ``new`` (ending with ``new``).

    ``()`` when ``old == new``; None when ``new`` cannot be reached from ``old``.
    """
    if old == new:
        return ()
    frontier: list[tuple[PaymentStatus, tuple[PaymentStatus, ...]]] = [(old, ())]
    seen = {old}
    while frontier:
        nxt: list[tuple[PaymentStatus, tuple[PaymentStatus, ...]]] = []
        for status, path in frontier:
            for candidate in sorted(TRANSITIONS[status]):
                if candidate in seen:
                    continue
                route = (*path, candidate)
                if candidate == new:
                    return route
                seen.add(candidate)
                nxt.append((candidate, route))
        frontier = nxt
    return None


def judge(old: PaymentStatus, new: PaymentStatus) -> Verdict:
    """Apply, duplicate or refuse the observed status ``new`` for an order at ``old``."""
    path = steps(old, new)
    if path is None:
        return Verdict.REFUSE
    return Verdict.DUPLICATE if not path else Verdict.APPLY
