"""SQLite writers submitted at once behave as if run one by one in submission order.

They share transactions (group commit, a savepoint per job), yet a job that raises leaves nothing
behind, every caller gets its own result or exception, and each successful job saw exactly the
successful jobs submitted before it. (PostgreSQL runs each job in its own transaction, side by
side, so submission order is not an order there.)
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select

from gamepay.bus.outbox import events_table
from gamepay.store import Store
from gamepay.testing import sqlite_url

WHEN = datetime(2026, 5, 6, tzinfo=UTC)
_runs = itertools.count()


class Refused(Exception):
    """What a failing job raises after it has written."""


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(fails=st.lists(st.booleans(), min_size=1, max_size=40), yields=st.integers(0, 3))
async def test_concurrent_writers_equal_serial_order(
    tmp_path: Path, fails: list[bool], yields: int
) -> None:
    """Results and stored rows equal running the jobs serially in submission order."""
    player = f"run{next(_runs)}"
    store = await Store.connect(sqlite_url(tmp_path / f"{player}.db"))
    try:
        await store.migrate()

        def job(i: int) -> Any:
            async def body(conn: Any) -> int:
                await conn.execute(
                    insert(events_table).values(
                        player_id=player, type="t", payload=json.dumps({"i": i}), created_at=WHEN
                    )
                )
                for _ in range(yields):
                    await asyncio.sleep(0)  # let other callers queue up meanwhile
                seen = await conn.scalar(
                    select(func.count())
                    .select_from(events_table)
                    .where(events_table.c.player_id == player)
                )
                if fails[i]:
                    raise Refused(i)
                return int(seen)

            return body

        outcomes = await asyncio.gather(
            *(store.run(job(i)) for i in range(len(fails))), return_exceptions=True
        )

        async def read(conn: Any) -> list[int]:
            rows = await conn.execute(
                select(events_table.c.payload)
                .where(events_table.c.player_id == player)
                .order_by(events_table.c.id)
            )
            return [json.loads(r.payload)["i"] for r in rows]

        stored = await store.read(read)
        groups = store._group.groups if store._group else 0
    finally:
        await store.close()
    kept = [i for i, failed in enumerate(fails) if not failed]
    assert stored == kept
    # the first job runs at once; the ones queued behind it share transactions (<= 32 each)
    assert groups <= 1 + math.ceil((len(fails) - 1) / 32)
    position = 0
    for i, (failed, outcome) in enumerate(zip(fails, outcomes, strict=True)):
        if failed:
            assert isinstance(outcome, Refused)
            assert outcome.args == (i,)
        else:
            position += 1
            assert outcome == position
