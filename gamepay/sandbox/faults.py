"""Fault injection, seeded so a failing test replays exactly.

``Faults`` is the configuration (rates in 0..1, times in seconds). ``FaultPlan`` draws every
decision from ``random.Random`` streams seeded by ``Faults.seed`` (one stream for callbacks, one
for API calls), always drawing the same count of numbers per decision, so the same seed and the
same sequence of operations give the same faults whatever the rates are. Every decision is
appended to ``FaultPlan.log`` for inspection.

Faults:

- callbacks: ``drop_rate`` (never sent), ``duplicate_rate`` (sent twice), ``reorder`` (held back
  until the next callback has been sent, or ``SandboxConfig.callback_reorder_hold`` passes),
  ``delay=(lo, hi)`` with ``delay_rate`` (sent after a uniform delay);
- API calls: ``latency`` (seconds, or ``(lo, hi)``) before answering, ``api_error_rate`` (answer
  an error from ``api_error_statuses`` without doing anything: 429 -> code 4290, 5xx -> 5000);
- "the nasty one", on create and transfer only: ``timeout_after_commit_rate`` (or a one-shot
  ``FaultPlan.arm``): the operation is committed, then the answer is lost: ``"hang"`` holds the
  request ``hang_seconds`` (past the client's timeout) before answering, ``"504"`` answers a
  gateway timeout page (HTTP 504, text/html, no envelope).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "ApiFault",
    "CallbackFault",
    "FaultPlan",
    "Faults",
    "Operation",
    "TimeoutMode",
]

TimeoutMode = Literal["hang", "504"]
"""How a committed create/transfer loses its answer."""

Operation = Literal["create", "get", "list", "transfer"]
"""The KryptoGO endpoints faults apply to."""

_COMMITTING: frozenset[str] = frozenset({"create", "transfer"})

Rate = Annotated[float, Field(ge=0.0, le=1.0)]
"""A probability."""


class Faults(BaseModel):
    """What goes wrong, and how often; all drawn from ``seed``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = 0
    drop_rate: Rate = 0.0
    duplicate_rate: Rate = 0.0
    reorder: Rate = 0.0
    """Probability that a callback is held back so a later one overtakes it."""
    delay: tuple[float, float] | None = None
    delay_rate: Rate = 1.0
    api_error_rate: Rate = 0.0
    api_error_statuses: tuple[Literal[429, 500, 502, 503], ...] = (500,)
    latency: float | tuple[float, float] = 0.0
    timeout_after_commit_rate: Rate = 0.0
    timeout_mode: TimeoutMode = "hang"
    hang_seconds: float = Field(default=30.0, ge=0.0)

    @model_validator(mode="after")
    def _ranges(self) -> Faults:
        """Delay and latency ranges are ordered and non-negative."""
        for name, value in (("delay", self.delay), ("latency", self.latency)):
            if value is None:
                continue
            low, high = value if isinstance(value, tuple) else (value, value)
            if not 0 <= low <= high:
                raise ValueError(f"{name} must be a non-negative (low, high) range")
        if not self.api_error_statuses:
            raise ValueError("api_error_statuses must not be empty")
        return self


@dataclass(frozen=True)
class CallbackFault:
    """The faults drawn for one callback."""

    drop: bool
    duplicate: bool
    reorder: bool
    delay: float


@dataclass(frozen=True)
class ApiFault:
    """The faults drawn for one API call."""

    latency: float
    error_status: int | None
    timeout_after_commit: TimeoutMode | None


def _uniform(rng: random.Random, span: float | tuple[float, float] | None) -> float:
    draw = rng.random()
    if span is None:
        return 0.0
    low, high = span if isinstance(span, tuple) else (span, span)
    return low + (high - low) * draw


class FaultPlan:
    """The seeded decisions of one ``Faults`` configuration, plus one-shot armed faults."""

    def __init__(self, faults: Faults | None = None) -> None:
        self.faults = faults or Faults()
        self._callbacks = random.Random(f"{self.faults.seed}:callbacks")
        self._api = random.Random(f"{self.faults.seed}:api")
        self._armed: dict[str, list[TimeoutMode]] = {"create": [], "transfer": []}
        self.log: list[dict[str, Any]] = []

    def arm(self, operation: Literal["create", "transfer"], mode: TimeoutMode = "hang") -> None:
        """Make the next ``operation`` commit and then lose its answer (once per call)."""
        if operation not in _COMMITTING:
            raise ValueError("only create and transfer can time out after commit")
        self._armed[operation].append(mode)

    def armed(self) -> dict[str, list[str]]:
        """The one-shot faults still waiting, per operation."""
        return {op: list(modes) for op, modes in self._armed.items()}

    def for_callback(self, label: str) -> CallbackFault:
        """Draw the faults of one callback (``label`` names it in the log)."""
        f, rng = self.faults, self._callbacks
        drop = rng.random() < f.drop_rate
        duplicate = rng.random() < f.duplicate_rate
        reorder = rng.random() < f.reorder
        delayed = rng.random() < f.delay_rate
        delay = _uniform(rng, f.delay)
        fault = CallbackFault(drop, duplicate, reorder, delay if delayed else 0.0)
        self.log.append({"kind": "callback", "label": label, **fault.__dict__})
        return fault

    def for_api(self, operation: Operation) -> ApiFault:
        """Draw the rate-based faults of one API call (one-shot faults: ``take_armed``)."""
        f, rng = self.faults, self._api
        latency = _uniform(rng, f.latency)
        error = rng.random() < f.api_error_rate
        status = f.api_error_statuses[rng.randrange(len(f.api_error_statuses))]
        timeout = rng.random() < f.timeout_after_commit_rate
        mode = f.timeout_mode if timeout and operation in _COMMITTING else None
        fault = ApiFault(latency, status if error else None, mode)
        self.log.append({"kind": "api", "operation": operation, **fault.__dict__})
        return fault

    def take_armed(self, operation: Operation) -> TimeoutMode | None:
        """Consume the next one-shot fault armed for ``operation`` (after it committed)."""
        armed = self._armed.get(operation)
        if not armed:
            return None
        mode = armed.pop(0)
        self.log.append({"kind": "armed", "operation": operation, "mode": mode})
        return mode
