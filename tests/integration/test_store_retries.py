"""store.run retries whole transactions on a busy SQLite file and on PostgreSQL deadlocks."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.errors import ConcurrencyError
from gamepay.store import Store
from gamepay.testing import fresh_postgres_database, sqlite_url


async def test_sqlite_busy_is_retried_then_gives_up(tmp_path: Path) -> None:
    """While another process holds the write lock, run() retries, then raises ConcurrencyError."""
    path = tmp_path / "busy.db"
    store = await Store.connect(sqlite_url(path), busy_timeout_ms=20, max_retries=2)
    await store.migrate()
    attempts = 0

    async def write(conn: AsyncConnection) -> str:
        nonlocal attempts
        attempts += 1
        await conn.execute(text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
        return "done"

    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        with pytest.raises(ConcurrencyError):
            await store.run(write)
        assert attempts == 0  # BEGIN IMMEDIATE itself was refused: fn never ran half-way

        async def release_soon() -> None:
            await asyncio.sleep(0.15)
            blocker.execute("ROLLBACK")

        patient = Store(store.engine, "sqlite", max_retries=40)
        releaser = asyncio.create_task(release_soon())
        assert await patient.run(write) == "done"
        await releaser
        assert attempts == 1
    finally:
        blocker.close()
        await store.close()


@pytest.mark.postgres
async def test_postgres_deadlock_is_retried(pg_url: str) -> None:
    """Two transactions locking two rows in opposite orders: the deadlock victim is re-run."""
    async with fresh_postgres_database(pg_url) as url:
        store = await Store.connect(url, pool_size=4)
        try:
            async with store.transaction() as conn:
                await conn.execute(text("CREATE TABLE pair (id INT PRIMARY KEY, n INT)"))
                await conn.execute(text("INSERT INTO pair VALUES (1, 0), (2, 0)"))
            both_hold_one = asyncio.Barrier(2)
            runs = {"a": 0, "b": 0}

            def locker(
                name: str, first: int, second: int
            ) -> Callable[[AsyncConnection], Awaitable[None]]:
                async def fn(conn: AsyncConnection) -> None:
                    runs[name] += 1
                    await conn.execute(
                        text("UPDATE pair SET n = n + 1 WHERE id = :i"), {"i": first}
                    )
                    if runs[name] == 1:
                        await both_hold_one.wait()
                    await conn.execute(
                        text("UPDATE pair SET n = n + 1 WHERE id = :i"), {"i": second}
                    )

                return fn

            await asyncio.wait_for(
                asyncio.gather(store.run(locker("a", 1, 2)), store.run(locker("b", 2, 1))), 30
            )
            assert sorted(runs.values()) == [1, 2]  # exactly one was the victim and re-ran
            async with store.transaction() as conn:
                rows = (await conn.execute(text("SELECT n FROM pair ORDER BY id"))).all()
            assert [r[0] for r in rows] == [2, 2]  # each transaction counted exactly once
        finally:
            await store.close()
