"""What a reward run reports: where it stands (``RunReport``) and its progress (``RunProgress``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from gamepay.core.rewards import RunStatus

__all__ = ["RunProgress", "RunReport"]


@dataclass(frozen=True, slots=True)
class RunReport:
    """Where one run stands: rewarded players and amounts, paid and not yet paid.

    ``sends`` (on-chain programs) counts the payouts by the outcome of sending them to wallets:
    ``sent``, ``failed`` or ``unknown`` (withdrawal statuses), ``no_wallet``,
    ``refused:<error code>``, and ``unsent`` (not tried yet).
    """

    program: str
    period: str
    run_id: int
    status: RunStatus
    players: int
    total: int
    paid_count: int
    paid_amount: int
    unpaid_count: int
    unpaid_amount: int
    sends: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; amounts as decimal strings of base units."""
        data = asdict(self)
        data["status"] = str(self.status)
        for key in ("total", "paid_amount", "unpaid_amount"):
            data[key] = str(data[key])
        return data


@dataclass(frozen=True, slots=True)
class RunProgress:
    """Progress of a run as seen by this runner, for a progress bar."""

    program: str
    period: str
    players: int
    total: int
    paid_count: int
    paid_amount: int
