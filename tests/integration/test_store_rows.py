"""``RowInsert`` and the SQLite write path, on SQLite and PostgreSQL: rows land exactly as a Core
insert writes them, conflicts skip, returned ids follow row order, and the SQLite pool and writer
queue keep transactions whole and first come, first served."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select, text

from gamepay.bus.outbox import EventDraft, events_table, record_events
from gamepay.core.events import EventType
from gamepay.core.money import MAX_AMOUNT
from gamepay.errors import InvalidInput
from gamepay.store import Store
from gamepay.store.rows import RowInsert
from gamepay.store.schema.payments import orders_table
from tests.integration.test_store_contract import store

__all__ = ["store"]  # the contract suite's migrated-store fixture, shared

WHEN = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)


def _order(order_id: str, request_id: str | None, price: int) -> dict[str, Any]:
    return {
        "id": order_id,
        "player_id": "alice",
        "kind": "balance",
        "status": "completed",
        "request_id": request_id,
        "sku": "potion",
        "settled_amount": 0,
        "granted": True,
        "price_asset_id": "currency:gold",
        "price_amount": price,
        "poll_attempts": 0,
        "create_attempts": 0,
        "next_poll_at": WHEN + timedelta(hours=1),
        "created_at": WHEN,
        "updated_at": WHEN,
    }


ORDER_COLUMNS = [c.name for c in orders_table.c]


async def test_row_insert_writes_what_a_core_insert_writes(store: Store) -> None:
    """Amounts up to 2**256-1, booleans and aware timestamps read back the same either way."""
    inserter = RowInsert(orders_table, ORDER_COLUMNS, conflict=("player_id", "request_id"))

    async def write(conn: Any) -> bool:
        await conn.execute(insert(orders_table).values(**_order("core", "r1", MAX_AMOUNT)))
        return await inserter.insert(conn, _order("fast", "r2", MAX_AMOUNT))

    assert await store.run(write) is True

    async def read(conn: Any) -> dict[str, dict[str, Any]]:
        rows = (await conn.execute(select(orders_table))).mappings().all()
        return {row["id"]: dict(row) for row in rows}

    rows = await store.run(read)
    core, fast = rows["core"], rows["fast"]
    assert fast["price_amount"] == MAX_AMOUNT
    assert fast["created_at"] == WHEN
    assert fast["granted"] is True
    assert fast["next_poll_at"] == WHEN + timedelta(hours=1)
    assert {k: v for k, v in core.items() if k not in ("id", "request_id")} == {
        k: v for k, v in fast.items() if k not in ("id", "request_id")
    }


async def test_row_insert_skips_a_taken_conflict_key(store: Store) -> None:
    """A second row with the same unique key is not written and the first stays as it was."""
    inserter = RowInsert(orders_table, ORDER_COLUMNS, conflict=("player_id", "request_id"))
    assert await store.run(lambda c: inserter.insert(c, _order("a", "same", 5))) is True
    assert await store.run(lambda c: inserter.insert(c, _order("b", "same", 9))) is False

    async def read(conn: Any) -> list[Any]:
        return list(await conn.execute(select(orders_table.c.id, orders_table.c.price_amount)))

    assert [(r.id, r.price_amount) for r in await store.run(read)] == [("a", 5)]


def test_row_insert_refuses_unknown_columns() -> None:
    """Naming a column the table lacks, or asking ids of an insert without returning, is refused."""
    with pytest.raises(InvalidInput):
        RowInsert(orders_table, ["id", "no_such_column"])
    with pytest.raises(InvalidInput):
        RowInsert(orders_table, ["id"], conflict=("nope",))
    with pytest.raises(InvalidInput):
        RowInsert(orders_table, [])


async def test_insert_returning_needs_returning(store: Store) -> None:
    """``insert_returning`` on an inserter built without ``returning=`` is a typed error."""
    inserter = RowInsert(orders_table, ORDER_COLUMNS)
    with pytest.raises(InvalidInput):
        await store.run(lambda c: inserter.insert_returning(c, [_order("x", None, 1)]))


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    payloads=st.lists(st.dictionaries(st.text(max_size=5), st.integers(), max_size=3), max_size=9),
    max_rows=st.integers(min_value=1, max_value=4),
)
async def test_insert_returning_ids_follow_row_order(
    db_url: str, payloads: list[dict[str, int]], max_rows: int
) -> None:
    """Whatever the chunking, the i-th id returned is the id of the i-th row written."""
    store = await Store.connect(db_url)
    try:
        await store.migrate()
        inserter = RowInsert(
            events_table,
            ("player_id", "type", "payload", "created_at"),
            returning="id",
            max_rows=max_rows,
        )
        rows = [
            {"player_id": "p", "type": "t", "payload": json.dumps(p), "created_at": WHEN}
            for p in payloads
        ]
        ids = await store.run(lambda c: inserter.insert_returning(c, rows))
        assert ids == sorted(ids)
        assert len(set(ids)) == len(rows)

        async def read(conn: Any) -> dict[int, str]:
            found = await conn.execute(select(events_table.c.id, events_table.c.payload))
            return {r.id: r.payload for r in found}

        stored = await store.run(read)
        assert [stored[i] for i in ids] == [row["payload"] for row in rows]
    finally:
        async with store.transaction() as conn:
            await conn.execute(events_table.delete())
        await store.close()


async def test_record_events_under_concurrent_writers(store: Store) -> None:
    """Events written by many transactions at once each come back with their own row's id."""

    async def write(n: int) -> list[Any]:
        drafts = [
            EventDraft(f"p{n}", EventType.BALANCE_CHANGED, {"n": n, "i": i}) for i in range(3)
        ]
        return await store.run(lambda c: record_events(c, drafts, WHEN))

    batches = await asyncio.gather(*(write(n) for n in range(12)))

    async def read(conn: Any) -> dict[int, tuple[str, Any]]:
        found = await conn.execute(select(events_table))
        return {r.id: (r.player_id, json.loads(r.payload)) for r in found}

    stored = await store.run(read)
    for n, events in enumerate(batches):
        assert [stored[e.id] for e in events] == [(f"p{n}", {"n": n, "i": i}) for i in range(3)]


async def test_sqlite_connection_returned_mid_transaction_is_rolled_back(tmp_path: Any) -> None:
    """A pooled SQLite connection given back with a transaction open is rolled back: its write
    is gone and the next writer is not locked out."""
    store = await Store.connect(f"sqlite:///{tmp_path / 'pool.db'}", busy_timeout_ms=200)
    try:
        await store.migrate()
        async with store.engine.connect() as conn:
            # a transaction SQLAlchemy does not know of, so only the pool's reset can end it
            driver = (await conn.get_raw_connection()).driver_connection
            await driver.execute("BEGIN IMMEDIATE")
            await driver.execute(
                "INSERT INTO gp_events (player_id, type, payload, created_at) "
                "VALUES ('p', 't', '{}', '2026-01-01 00:00:00.000000')"
            )
            assert driver.in_transaction
        count = await asyncio.wait_for(
            store.run(lambda c: c.scalar(select(func.count()).select_from(events_table))), 5
        )
        assert count == 0
    finally:
        await store.close()


async def test_sqlite_writers_are_served_in_arrival_order(tmp_path: Any) -> None:
    """Concurrent SQLite transactions of one process run one at a time, first come first served."""
    store = await Store.connect(f"sqlite:///{tmp_path / 'fifo.db'}")
    order: list[int] = []
    inside = 0

    async def tx(n: int) -> None:
        async def body(conn: Any) -> None:
            nonlocal inside
            inside += 1
            assert inside == 1
            await conn.execute(text("SELECT 1"))
            await asyncio.sleep(0)
            order.append(n)
            inside -= 1

        await store.run(body)

    try:
        await asyncio.gather(*(tx(n) for n in range(25)))
    finally:
        await store.close()
    assert order == list(range(25))


async def test_sqlite_read_only_transaction_does_not_hold_the_writers(tmp_path: Any) -> None:
    """A read-only transaction held open (a streamed read) is a snapshot: writers commit beside
    it, and it keeps seeing the rows as they were when it began."""
    store = await Store.connect(f"sqlite:///{tmp_path / 'snap.db'}", busy_timeout_ms=200)
    count = select(func.count()).select_from(events_table)
    event = {"player_id": "p", "type": "t", "payload": "{}", "created_at": WHEN}
    try:
        await store.migrate()
        async with store.transaction(read_only=True) as reader:
            assert await reader.scalar(count) == 0
            await asyncio.wait_for(store.run(lambda c: c.execute(insert(events_table), event)), 5)
            assert await reader.scalar(count) == 0
        assert await store.read(lambda c: c.scalar(count)) == 1
    finally:
        await store.close()
