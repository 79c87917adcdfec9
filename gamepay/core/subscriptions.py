"""Subscription periods, PURE: what a paid period covers, when a pass lapses, when to offer.

A subscription (a catalog item with ``subscription`` terms) is a sequence of paid periods
``0, 1, 2, ...`` of ``period_s`` seconds each. Each paid order buys the NEXT period:

- the first one (index 0) starts when it is paid;
- a renewal paid before the current period ends, or after it but before the grace ends
  (``period_end + grace_s``), starts exactly at the current period's end: never at the payment
  time, so paying early or a little late loses and gains nothing;
- a renewal paid after the grace starts a new period at its payment time.

The pass is held while ``now < period_end + grace_s`` (the grace keeps it while a late payment
arrives). The renewal is offered from ``period_end - offer_before_s`` on, once per period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from gamepay.errors import InvalidInput

__all__ = ["MAX_PERIOD_S", "Period", "Terms", "next_period"]

MAX_PERIOD_S = 10 * 366 * 86400
"""The longest period, grace or offer lead a subscription may have: about ten years."""


@dataclass(frozen=True, slots=True)
class Terms:
    """A subscription's terms in whole seconds: the period, the grace after it, and how long
    before its end the renewal is offered."""

    period_s: int
    grace_s: int = 0
    offer_before_s: int = 0

    def __post_init__(self) -> None:
        for name, low in (("period_s", 60), ("grace_s", 0), ("offer_before_s", 0)):
            value = getattr(self, name)
            if type(value) is not int or not low <= value <= MAX_PERIOD_S:
                raise InvalidInput(f"{name} must be whole seconds in {low}..{MAX_PERIOD_S}")
        if self.offer_before_s >= self.period_s:
            raise InvalidInput("offer_before_s must be shorter than the period")

    @property
    def period(self) -> timedelta:
        """The period as a timedelta."""
        return timedelta(seconds=self.period_s)

    @property
    def grace(self) -> timedelta:
        """The grace as a timedelta."""
        return timedelta(seconds=self.grace_s)


@dataclass(frozen=True, slots=True)
class Period:
    """One paid period of a subscription: index ``index``, from ``start`` to ``end``."""

    index: int
    start: datetime
    end: datetime

    def held(self, now: datetime, terms: Terms) -> bool:
        """Whether the pass is held at ``now``: before the end plus the grace."""
        return now < self.end + terms.grace

    def offer_from(self, terms: Terms) -> datetime:
        """From when the renewal of this period (the next index) is offered."""
        return self.end - timedelta(seconds=terms.offer_before_s)

    def pass_until(self, terms: Terms) -> datetime:
        """When the pass of this period lapses unless renewed: its end plus the grace."""
        return self.end + terms.grace


def next_period(current: Period | None, paid_at: datetime, terms: Terms) -> Period:
    """The period a payment made at ``paid_at`` buys after ``current`` (see the module rules)."""
    if current is None:
        return Period(0, paid_at, paid_at + terms.period)
    start = current.end if paid_at < current.pass_until(terms) else paid_at
    return Period(current.index + 1, start, start + terms.period)
