"""``verify``: recompute every balance from the transfer log alone and compare.

From the transfers: plain transfers and posts move ``available`` from debit to credit; a pending
transfer no post or void resolved yet moves the debit's ``available`` to ``held``; resolved
pending transfers (and void transfers) change nothing in the end (``gamepay.core.holds``). Also
checks every asset sums to zero, no account that may not go negative is below zero, no held
amount is negative, and every ``gp_holds`` row says what its transfers say. Read-only.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.core.holds import HoldStatus, TransferPhase, status_of
from gamepay.errors import HoldStateError
from gamepay.ledger.reads import SETTLED, count_transfers, stored_balances
from gamepay.ledger.records import Verification, VerifyReport
from gamepay.store.schema.ledger import (
    accounts_table,
    holds_table,
    transfers_table,
    verifications_table,
)
from gamepay.store.sql import big_sum

__all__ = ["KEPT_PROBLEMS", "last_verification", "record_verification", "verify"]

KEPT_PROBLEMS = 20
"""How many of a run's problems are stored with it (the count is always exact)."""

log = logging.getLogger("gamepay.ledger")

_C = accounts_table.c
_H = holds_table.c
_T = transfers_table.c

_Key = tuple[str, str]


async def _expected(conn: AsyncConnection) -> dict[_Key, list[int]]:
    expected: dict[_Key, list[int]] = defaultdict(lambda: [0, 0])
    for side, sign in ((_T.debit, -1), (_T.credit, 1)):
        totals = await conn.execute(
            sa.select(side, _T.asset, big_sum(_T.amount)).where(SETTLED).group_by(side, _T.asset)
        )
        for account, asset, total in totals:
            expected[(account, asset)][0] += sign * int(total)
    resolution = transfers_table.alias("resolution")
    resolved = sa.exists().where(
        resolution.c.hold_id == _T.hold_id,
        resolution.c.phase.in_([TransferPhase.POST.value, TransferPhase.VOID.value]),
    )
    open_holds = await conn.execute(
        sa.select(_T.debit, _T.asset, big_sum(_T.amount))
        .where(_T.phase == TransferPhase.PENDING.value, ~resolved)
        .group_by(_T.debit, _T.asset)
    )
    for account, asset, total in open_holds:
        expected[(account, asset)][0] -= int(total)
        expected[(account, asset)][1] += int(total)
    return expected


async def _hold_problems(conn: AsyncConnection) -> list[str]:
    """Every ``gp_holds`` row against its transfers: amount, status, posted amount."""
    stories: dict[str, dict[str, int]] = defaultdict(dict)
    rows = await conn.execute(
        sa.select(_T.hold_id, _T.phase, _T.amount).where(_T.hold_id.is_not(None))
    )
    for hold_id, phase, amount in rows:
        stories[hold_id][phase or TransferPhase.POST.value] = int(amount)
    problems: list[str] = []
    holds = await conn.execute(sa.select(_H.id, _H.status, _H.amount, _H.posted_amount))
    for hold_id, status, amount, posted in holds:
        story = stories.pop(hold_id, {})
        try:
            told = status_of(story)
        except HoldStateError:
            problems.append(f"hold {hold_id}: both posted and voided in the transfers")
            continue
        if story.get(TransferPhase.PENDING.value) != amount:
            problems.append(f"hold {hold_id}: no pending transfer of {amount}")
        if told != status:
            problems.append(f"hold {hold_id}: stored {status}, transfers say {told}")
        if told is HoldStatus.POSTED and story[TransferPhase.POST.value] != posted:
            problems.append(f"hold {hold_id}: posted {posted}, transfers say {story['post']}")
    for hold_id in sorted(stories):
        problems.append(f"hold {hold_id}: transfers name a hold that does not exist")
    return problems


async def verify(conn: AsyncConnection) -> VerifyReport:
    """Compare every stored balance and hold with what the transfers say (see the module)."""
    expected = await _expected(conn)
    transfers = await count_transfers(conn)
    allow = {
        row.id: bool(row.allow_negative)
        for row in await conn.execute(sa.select(_C.id, _C.allow_negative))
    }
    stored = {
        (row.account_id, row.asset): (row.available, row.held)
        for row in await conn.execute(stored_balances())
    }
    problems: list[str] = []
    sums: dict[str, int] = defaultdict(int)
    for key in sorted(set(stored) | set(expected)):
        have = stored.get(key, (0, 0))
        want = tuple(expected.get(key, (0, 0)))
        account, asset = key
        if have != want:
            problems.append(
                f"{account} {asset}: stored available/held {have[0]}/{have[1]}, "
                f"transfers say {want[0]}/{want[1]}"
            )
        if have[0] < 0 and not allow.get(account, False):
            problems.append(f"{account} {asset}: available {have[0]} is below zero")
        if have[1] < 0:
            problems.append(f"{account} {asset}: held {have[1]} is below zero")
        sums[asset] += have[0] + have[1]
    for asset, total in sorted(sums.items()):
        if total != 0:
            problems.append(f"{asset}: balances sum to {total}, not zero")
    problems.extend(await _hold_problems(conn))
    if problems:
        log.error("ledger verify found %d problems", len(problems))
    return VerifyReport(
        problems=tuple(problems), balances_checked=len(stored), transfers_checked=transfers
    )


async def record_verification(
    conn: AsyncConnection,
    report: VerifyReport,
    *,
    started_at: datetime,
    finished_at: datetime,
    by: str,
) -> Verification:
    """Store one verify run (its first ``KEPT_PROBLEMS`` problems) and return it."""
    done = Verification(
        ok=report.ok,
        problem_count=len(report.problems),
        problems=report.problems[:KEPT_PROBLEMS],
        balances_checked=report.balances_checked,
        transfers_checked=report.transfers_checked,
        by=by[:64],
        started_at=started_at,
        finished_at=finished_at,
    )
    await conn.execute(
        sa.insert(verifications_table).values(
            ok=done.ok,
            problem_count=done.problem_count,
            problems="\n".join(done.problems),
            balances_checked=done.balances_checked,
            transfers_checked=done.transfers_checked,
            by=done.by,
            started_at=started_at,
            finished_at=finished_at,
        )
    )
    return done


async def last_verification(conn: AsyncConnection) -> Verification | None:
    """The newest recorded verify run, or None."""
    v = verifications_table.c
    row = (
        await conn.execute(sa.select(verifications_table).order_by(v.id.desc()).limit(1))
    ).first()
    if row is None:
        return None
    return Verification(
        ok=bool(row.ok),
        problem_count=int(row.problem_count),
        problems=tuple(line for line in str(row.problems).split("\n") if line),
        balances_checked=int(row.balances_checked),
        transfers_checked=int(row.transfers_checked),
        by=str(row.by),
        started_at=row.started_at,
        finished_at=row.finished_at,
    )
