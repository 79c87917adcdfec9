"""Preview (dry run) of a period: every would-be payout as JSON or CSV, plus totals.

Reads the ledger's history with the same set-based query a run uses, streamed in chunks, and
writes nothing to the database. Output is written as it is computed, so memory does not grow
with the number of players. Amounts are decimal strings of base units.
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal, TextIO

from gamepay.rewards.compute import stream_activity
from gamepay.rewards.periods import Period
from gamepay.rewards.programs import Program, reward_for
from gamepay.store import Store

__all__ = ["CSV_FIELDS", "Payout", "PreviewTotals", "iter_payouts", "preview", "write_preview"]

CSV_FIELDS = ("player_id", "amount", "purchases", "refunds", "active")
"""The CSV columns of a preview, in order."""


@dataclass(frozen=True, slots=True)
class Payout:
    """One would-be payout and the activity it comes from."""

    player_id: str
    amount: int
    purchases: int
    refunds: int
    active: bool

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (amounts as decimal strings of base units)."""
        return {
            "player_id": self.player_id,
            "amount": str(self.amount),
            "purchases": str(self.purchases),
            "refunds": str(self.refunds),
            "active": self.active,
        }


@dataclass(frozen=True, slots=True)
class PreviewTotals:
    """Totals of a preview: players seen, players rewarded, and the sum of rewards."""

    program: str
    period: str
    start: str
    end: str
    players_seen: int
    players: int
    total: int

    @classmethod
    def of(
        cls, program: Program, period: Period, *, players_seen: int, players: int, total: int
    ) -> PreviewTotals:
        """The totals of ``program`` over ``period`` (named by its key, bounds in ISO 8601)."""
        return cls(
            program=program.name,
            period=period.key,
            start=period.start.isoformat(),
            end=period.end.isoformat(),
            players_seen=players_seen,
            players=players,
            total=total,
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the total as a decimal string)."""
        return {
            "program": self.program,
            "period": self.period,
            "start": self.start,
            "end": self.end,
            "players_seen": self.players_seen,
            "players": self.players,
            "total": str(self.total),
        }


async def iter_payouts(
    store: Store, program: Program, period: Period, chunk_size: int = 2000
) -> AsyncIterator[tuple[int, list[Payout]]]:
    """Yield (players seen, their non-zero payouts) chunk by chunk, ordered by player account."""
    async with store.transaction(read_only=True) as conn:
        async for chunk in stream_activity(conn, program, period, chunk_size):
            payouts = []
            for activity in chunk:
                amount = reward_for(program, activity)
                if amount > 0:
                    payouts.append(
                        Payout(
                            player_id=activity.player_id,
                            amount=amount,
                            purchases=activity.purchases,
                            refunds=activity.refunds,
                            active=activity.active,
                        )
                    )
            yield len(chunk), payouts


async def write_preview(
    store: Store,
    program: Program,
    period: Period,
    out: TextIO,
    fmt: Literal["json", "csv"] = "json",
    *,
    chunk_size: int = 2000,
) -> PreviewTotals:
    """Stream the preview of ``period`` to ``out`` as JSON or CSV; returns the totals.

    JSON: ``{"program", "period", "start", "end", "payouts": [...], "totals": {...}}`` on one
    line (streamed: one payout at a time, never the whole list in memory).
    CSV: a header row (``CSV_FIELDS``) then one row per payout; totals only in the return value.
    """
    seen = players = total = 0
    writer = csv.writer(out, lineterminator="\n") if fmt == "csv" else None
    if writer is not None:
        writer.writerow(CSV_FIELDS)
    else:
        head = {
            "program": program.name,
            "period": period.key,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
        }
        out.write(json.dumps(head)[:-1] + ', "payouts": [')
    first = True
    async for count, chunk in iter_payouts(store, program, period, chunk_size):
        seen += count
        for payout in chunk:
            players += 1
            total += payout.amount
            if writer is not None:
                writer.writerow(
                    [
                        payout.player_id,
                        payout.amount,
                        payout.purchases,
                        payout.refunds,
                        int(payout.active),
                    ]
                )
            else:
                out.write(("" if first else ", ") + json.dumps(payout.to_json()))
                first = False
    totals = PreviewTotals.of(program, period, players_seen=seen, players=players, total=total)
    if writer is None:
        out.write('], "totals": ')
        out.write(json.dumps(totals.to_json()) + "}\n")
    return totals


async def preview(
    store: Store, program: Program, period: Period
) -> tuple[list[Payout], PreviewTotals]:
    """The whole preview in memory (for tests and small programs; prefer ``write_preview``)."""
    payouts: list[Payout] = []
    seen = 0
    async for count, chunk in iter_payouts(store, program, period):
        seen += count
        payouts.extend(chunk)
    totals = PreviewTotals.of(
        program,
        period,
        players_seen=seen,
        players=len(payouts),
        total=sum(p.amount for p in payouts),
    )
    return payouts, totals
