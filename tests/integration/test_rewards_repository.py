"""The reward repository's status writes follow the transition tables, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gamepay.core.rewards import RunStatus
from gamepay.errors import IllegalTransition
from gamepay.rewards.repository import RewardRepository, paid_payouts_by_program
from tests.support.rewards import open_world

START = datetime(2026, 11, 1, tzinfo=UTC)
END = datetime(2026, 12, 1, tzinfo=UTC)


def _run_values() -> dict[str, object]:
    """The columns of a run of program ``repo`` for November 2026."""
    return {
        "program": "repo",
        "period_key": "2026-11",
        "period_start": START,
        "period_end": END,
        "asset": "gold",
        "pool": "pool:repo",
        "program_hash": "0" * 64,
        "claimed_by": "test",
        "claimed_at": START,
    }


async def test_moves_are_checked_and_only_legal_sources_move(db_url: str) -> None:
    """An illegal move raises before writing; a legal one moves only rows in its sources."""
    world = await open_world(db_url)
    rows = RewardRepository(world.store.dialect)
    try:
        async with world.store.transaction() as conn:
            run_id = await rows.insert_run(conn, _run_values())
            assert run_id is not None
            assert await rows.insert_run(conn, _run_values()) is None  # one run per period
            payout = {"purchases": 5, "refunds": 0, "active": True, "amount": 7}
            await rows.insert_payouts(conn, run_id, [{**payout, "player_id": "a"}])
            assert await rows.take_pending(conn, run_id, 10) == [("a", 7)]
        async with world.store.transaction() as conn:
            with pytest.raises(IllegalTransition):
                await rows.move_run(conn, run_id, [RunStatus.PAYING], RunStatus.PAYING)
            with pytest.raises(IllegalTransition):
                await rows.move_run(conn, run_id, [RunStatus.PAID], RunStatus.SENDING)
            assert not await rows.move_run(conn, run_id, [RunStatus.SENDING], RunStatus.PAID)
            await rows.mark_paid(conn, run_id, [("a", "t/0")], END)
            assert await rows.pending_count(conn, run_id) == 0
            assert await rows.move_run(conn, run_id, [RunStatus.PAYING], RunStatus.SENDING)
            assert await rows.unsent(conn, run_id, 10) == [("a", 7)]
            await rows.record_send(conn, run_id, "a", "sent", "wd_1")
            assert await rows.move_run(
                conn, run_id, [RunStatus.SENDING], RunStatus.PAID, finished_at=END
            )
            assert not await rows.move_run(
                conn, run_id, [RunStatus.PAYING, RunStatus.SENDING], RunStatus.PAID
            )
            report = await rows.report(conn, run_id, sends=True)
        assert report.status is RunStatus.PAID
        assert (report.paid_count, report.paid_amount, report.unpaid_count) == (1, 7, 0)
        assert report.sends == {"sent": 1}
        async with world.store.transaction() as conn:
            assert await rows.paid_period_starts(conn, "repo") == {START}
            assert await rows.run_id(conn, "repo", START) == run_id
            counted = (await conn.execute(paid_payouts_by_program())).all()
        assert [tuple(r) for r in counted] == [("repo", 1)]
    finally:
        await world.store.close()
