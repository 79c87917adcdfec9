"""The sandbox clock: unix seconds that tests (and the control API) can move forward.

The clock either follows real time plus the sum of every ``advance`` (the default, for a served
sandbox), or is frozen at its start and moves only by ``advance`` (deterministic tests).
Core logic never reads it: the sandbox passes ``now()`` down as a parameter.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["SandboxClock"]


class SandboxClock:
    """Unix seconds: real time (or a frozen start) plus the offset added by ``advance``."""

    def __init__(
        self,
        start: int | None = None,
        *,
        frozen: bool = False,
        real: Callable[[], float] = time.time,
    ) -> None:
        self._real = real
        self._real_start = real()
        self._start = int(self._real_start) if start is None else start
        self._frozen = frozen
        self._offset = 0

    @property
    def frozen(self) -> bool:
        """True when the clock moves only by ``advance``."""
        return self._frozen

    def now(self) -> int:
        """The sandbox time in whole unix seconds."""
        elapsed = 0 if self._frozen else int(self._real() - self._real_start)
        return self._start + max(elapsed, 0) + self._offset

    def advance(self, seconds: int) -> int:
        """Move the clock forward by ``seconds`` (>= 0) and return the new time."""
        if type(seconds) is not int or seconds < 0:
            raise ValueError("advance takes a non-negative int of seconds")
        self._offset += seconds
        return self.now()
