"""The NATS JetStream bus between replicas on one PostgreSQL database: each event reaches each
replica's subscribers once, the relay publishes what no replica did (and survives being killed),
and nothing is lost while NATS is unreachable."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from gamepay.bus.jetstream import NatsBus
from gamepay.bus.outbox import EventDraft, record_events
from gamepay.core.events import Event, EventType
from gamepay.store import Store
from gamepay.store.schema.events import event_relay_table
from gamepay.testing import fresh_postgres_database
from tests.support.nats import CuttableProxy, StreamNames, private_stream

pytestmark = [pytest.mark.postgres, pytest.mark.nats]

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PLAYERS = ("alice", "bob", "carol")


class Replica:
    """One replica: its own store (pool) and bus on the shared database, and what it received."""

    def __init__(self, store: Store, bus: NatsBus) -> None:
        self.store = store
        self.bus = bus
        self.got: list[int] = []
        self.resyncs = 0
        bus.subscribe(self._on_event)
        bus.add_reconnect_handler(self._on_resync)

    async def _on_event(self, event: Event) -> None:
        self.got.append(event.id)

    async def _on_resync(self) -> None:
        self.resyncs += 1

    async def commit(self, count: int, *, publish: bool = True) -> list[int]:
        """Write ``count`` events in one transaction; publish them after the commit, or not
        (a replica that crashed between its commit and its publish)."""
        drafts = [
            EventDraft(PLAYERS[i % len(PLAYERS)], EventType.BALANCE_CHANGED, {"n": i})
            for i in range(count)
        ]

        async def write(conn: Any) -> list[Event]:
            return await record_events(conn, drafts, NOW)

        events = await self.store.run(write)
        if publish:
            await self.bus.publish(events)
        return [event.id for event in events]


@asynccontextmanager
async def replica(
    db_url: str, nats_url: str, names: StreamNames, **options: Any
) -> AsyncIterator[Replica]:
    """A started replica; closed (bus, then store) on exit."""
    store = await Store.connect(db_url, pool_size=4)
    try:
        await store.migrate()
        bus = NatsBus(
            nats_url,
            store,
            stream=names.stream,
            subject=names.subject,
            **{"settle": 0.3, "poll_interval": 0.05, **options},
        )
        node = Replica(store, bus)
        await bus.start()
        try:
            yield node
        finally:
            await bus.close()
    finally:
        await store.close()


async def wait_for(predicate: Callable[[], bool], within: float = 15.0) -> None:
    """Poll ``predicate`` until it holds; fail after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while not predicate():
        if loop.time() > end:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def durable_position(store: Store) -> int:
    """The relay position stored in ``gp_event_relay``."""

    async def read(conn: Any) -> int:
        return int(await conn.scalar(select(event_relay_table.c.last_id)))

    return await store.read(read)


@pytest.fixture
async def setting(pg_url: str, nats_url: str) -> AsyncIterator[tuple[str, str, StreamNames]]:
    """A fresh database, the NATS URL and a private stream."""
    async with fresh_postgres_database(pg_url) as db, private_stream(nats_url) as names:
        yield db, nats_url, names


async def test_each_event_reaches_each_replica_once(setting: tuple[str, str, StreamNames]) -> None:
    """Events committed and published on A reach B's subscriber once and A's once (the copy
    coming back from the stream is not delivered again)."""
    db, url, names = setting
    async with replica(db, url, names) as a, replica(db, url, names) as b:
        ids: list[int] = []
        for _ in range(10):
            ids += await a.commit(5)
        ids += await b.commit(5)
        await wait_for(lambda: len(a.got) == len(ids) and len(b.got) == len(ids))
        await asyncio.sleep(0.5)  # any duplicate would have arrived by now
        assert sorted(a.got) == sorted(b.got) == ids
        await wait_for(lambda: a.bus.relay_position == ids[-1])
        assert await durable_position(a.store) == ids[-1]


async def test_relay_killed_mid_stream_then_restarted(
    setting: tuple[str, str, StreamNames],
) -> None:
    """Only the relay publishes (the writer never does); it is stopped mid-stream, nothing more
    arrives; a new replica's relay resumes from the stored position: each event arrives once."""
    db, url, names = setting
    async with AsyncExitStack() as stack:
        writer = await stack.enter_async_context(replica(db, url, names, relay=False))
        listener = await stack.enter_async_context(replica(db, url, names, relay=False))
        relay = await stack.enter_async_context(replica(db, url, names))
        ids: list[int] = []
        for _ in range(5):
            ids += await writer.commit(4, publish=False)
        await wait_for(lambda: len(listener.got) >= 8)
        await relay.bus.stop_relay()  # killed mid-stream (its position may lag what it sent)
        stopped_at = relay.bus.relay_position
        assert stopped_at == await durable_position(writer.store)
        assert stopped_at <= ids[-1]
        later: list[int] = []
        for _ in range(5):
            later += await writer.commit(4, publish=False)
        await asyncio.sleep(1.0)
        received = len(listener.got)
        assert set(listener.got) <= set(ids)  # nobody relays the later ones now
        restarted = await stack.enter_async_context(replica(db, url, names))
        assert restarted.bus.relay_position == stopped_at  # resumes from the stored position
        await wait_for(lambda: len(listener.got) == len(ids) + len(later))
        await asyncio.sleep(0.5)
        assert sorted(listener.got) == ids + later  # once each, re-sent ones de-duplicated
        assert set(later) <= set(restarted.got)
        assert len(restarted.got) == len(set(restarted.got))
        assert restarted.bus.relayed >= len(ids) + len(later) - received
        await wait_for(lambda: restarted.bus.relay_position == later[-1])


async def test_another_replicas_relay_takes_over(setting: tuple[str, str, StreamNames]) -> None:
    """Two relays run at once; one is killed while events keep coming; the other relays them
    all; duplicates sent by both relays are absorbed: each subscriber gets each event once."""
    db, url, names = setting
    async with AsyncExitStack() as stack:
        writer = await stack.enter_async_context(replica(db, url, names, relay=False))
        a = await stack.enter_async_context(replica(db, url, names))
        b = await stack.enter_async_context(replica(db, url, names))
        ids: list[int] = []

        async def produce() -> None:
            for _ in range(40):
                ids.extend(await writer.commit(3, publish=False))
                await asyncio.sleep(0.01)

        producing = asyncio.create_task(produce())
        await wait_for(lambda: len(ids) >= 30)
        await a.bus.stop_relay()
        await producing
        await wait_for(lambda: len(writer.got) == len(ids) == len(a.got) == len(b.got))
        await asyncio.sleep(0.5)
        assert sorted(writer.got) == sorted(a.got) == sorted(b.got) == ids
        assert b.bus.relayed > 0
        await wait_for(lambda: b.bus.relay_position == ids[-1])


async def test_nats_unreachable_for_a_while_then_back(
    setting: tuple[str, str, StreamNames],
) -> None:
    """NATS is cut off while both replicas commit and publish: each still delivers its own
    events; when NATS is back the relays catch up, every replica has every event once, and
    the reconnect handlers ran (the adapter re-reads the outbox there)."""
    db, url, names = setting
    proxy = CuttableProxy(url)
    await proxy.restore()
    try:
        async with replica(db, proxy.url, names) as a, replica(db, proxy.url, names) as b:
            ids = await a.commit(5) + await b.commit(5)
            await wait_for(lambda: len(a.got) == len(b.got) == len(ids))
            await proxy.cut()
            await wait_for(lambda: not a.bus.connected and not b.bus.connected)
            during: list[int] = []
            for _ in range(6):
                during += await a.commit(3) + await b.commit(2)
            await asyncio.sleep(1.0)
            assert len(a.got) == len(ids) + 18  # its own events, delivered locally
            assert len(b.got) == len(ids) + 12
            await proxy.restore()
            everything = sorted(ids + during)
            await wait_for(lambda: len(a.got) == len(b.got) == len(everything))
            await asyncio.sleep(0.5)
            assert sorted(a.got) == sorted(b.got) == everything
            assert a.resyncs >= 1
            assert b.resyncs >= 1
    finally:
        await proxy.cut()


async def test_a_replica_started_while_nats_is_down_catches_up(
    setting: tuple[str, str, StreamNames],
) -> None:
    """Start never fails on an unreachable NATS: the bus connects later and relays the backlog."""
    db, url, names = setting
    proxy = CuttableProxy(url)
    await proxy.restore()
    await proxy.cut()
    try:
        async with replica(db, url, names) as online, replica(db, proxy.url, names) as late:
            assert not late.bus.connected
            ids = await late.commit(6)
            assert sorted(late.got) == ids
            await proxy.restore()
            await wait_for(lambda: sorted(online.got) == ids)
            await wait_for(lambda: late.bus.connected)
            await asyncio.sleep(0.5)
            assert sorted(online.got) == sorted(late.got) == ids
    finally:
        await proxy.cut()


async def test_two_databases_on_one_stream_stay_apart(pg_url: str, nats_url: str) -> None:
    """Two databases (both with ids from 1) publish on one stream: each database's replicas get
    exactly their own events, none taken for a duplicate of the other's (the outbox epoch)."""
    async with (
        fresh_postgres_database(pg_url) as one,
        fresh_postgres_database(pg_url) as two,
        private_stream(nats_url) as names,
        replica(one, nats_url, names) as writer_one,
        replica(one, nats_url, names, relay=False) as reader_one,
        replica(two, nats_url, names) as writer_two,
        replica(two, nats_url, names, relay=False) as reader_two,
    ):
        ids_one = await writer_one.commit(5)
        ids_two = await writer_two.commit(5)
        assert ids_one == ids_two == [1, 2, 3, 4, 5]
        assert writer_one.bus.relayed == writer_two.bus.relayed == 0
        await wait_for(lambda: len(reader_one.got) == 5 and len(reader_two.got) == 5)
        await asyncio.sleep(0.5)
        assert sorted(reader_one.got) == sorted(reader_two.got) == [1, 2, 3, 4, 5]
        assert sorted(writer_one.got) == sorted(writer_two.got) == [1, 2, 3, 4, 5]
