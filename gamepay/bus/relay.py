"""The outbox relay's bookkeeping, free of I/O: which committed events a broker still lacks, and
how far the relay's durable position may move.

The relay reads outbox rows in id order and learns which events the broker already carries
(they came back on its subscription). ``RelayCursor`` decides, from those observations and a
clock passed in:

- **what to publish** (``due``): a row read ``settle`` seconds ago that the broker has not
  carried (its replica's own publish was lost);
- **how far the position may move** (``target``): to just below the lowest id still in doubt. An
  id is in doubt while its row is read but not yet carried or published, or while it is a *gap*
  (a missing id below one already read: a transaction still open, or rolled back). A gap stops
  being in doubt when its row appears (then it is a row like any other) or after ``gap_grace``
  seconds (given up: that event, if it ever commits, reaches its player by replay).

So every id at or below the position is on the broker or was given up as a gap, and a restarted
relay can begin at the stored position.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

__all__ = ["MAX_TRACKED_GAP", "RelayCursor"]

logger = logging.getLogger("gamepay.bus.relay")

MAX_TRACKED_GAP = 10_000
"""A jump of more ids than this between two rows is skipped at once, not tracked id by id."""


class RelayCursor:
    """What a relay has read, what the broker carries, and where its position may go."""

    def __init__(self, position: int, *, settle: float, gap_grace: float) -> None:
        self.position = position
        """Every id at or below it is on the broker, or was given up as a gap."""
        self.scan = position
        """The highest id read so far (the next read starts after it)."""
        self._settle = settle
        self._gap_grace = gap_grace
        self._pending: dict[int, float] = {}
        self._gaps: dict[int, float] = {}
        self._carried: set[int] = set()

    @property
    def gaps(self) -> list[int]:
        """The missing ids still waited for, lowest first (read them again: they may appear)."""
        return sorted(self._gaps)

    @property
    def in_doubt(self) -> int:
        """How many ids hold the position back."""
        return len(self._pending) + len(self._gaps)

    def carried(self, event_id: int) -> None:
        """The broker delivered ``event_id`` (so nobody needs to publish it)."""
        if event_id > self.position:
            self._carried.add(event_id)
            self._pending.pop(event_id, None)

    def scanned(self, ids: Sequence[int], now: float) -> None:
        """Ids of rows read after ``scan``, ascending; the ids skipped between them are gaps."""
        for event_id in ids:
            if event_id <= self.scan:
                continue
            if event_id - self.scan - 1 > MAX_TRACKED_GAP:
                logger.warning("outbox ids jump by %d; not waiting for them", event_id - self.scan)
            else:
                for missing in range(self.scan + 1, event_id):
                    self._gaps.setdefault(missing, now)
            self.scan = event_id
            self._read(event_id, now)

    def appeared(self, ids: Sequence[int], now: float) -> None:
        """Rows found for some of the gaps (their transactions committed late)."""
        for event_id in ids:
            if self._gaps.pop(event_id, None) is not None:
                self._read(event_id, now)

    def _read(self, event_id: int, now: float) -> None:
        if event_id not in self._carried:
            self._pending[event_id] = now

    def due(self, now: float) -> list[int]:
        """Ids of the rows read at least ``settle`` seconds ago the broker has not carried."""
        return sorted(i for i, since in self._pending.items() if now - since >= self._settle)

    def published(self, event_id: int) -> None:
        """The broker acknowledged ``event_id`` (from ``due``)."""
        self.carried(event_id)

    def target(self, now: float) -> int:
        """Give up gaps older than ``gap_grace``; the position everything below doubt allows."""
        for gap, since in list(self._gaps.items()):
            if now - since >= self._gap_grace:
                logger.warning("outbox id %s did not commit in time; relaying past it", gap)
                del self._gaps[gap]
        doubts = [*self._pending, *self._gaps]
        return max(self.position, (min(doubts) - 1) if doubts else self.scan)

    def moved(self, position: int) -> None:
        """The position ``position`` (from ``target``) is stored; forget what lies below it."""
        self.position = max(self.position, position)
        self._carried = {i for i in self._carried if i > self.position}
