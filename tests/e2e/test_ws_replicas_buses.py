"""Two replicas on one PostgreSQL database, each with its own pool, bus and websocket server:
every event reaches every connection of its player exactly once, on NATS JetStream and on
LISTEN/NOTIFY, while the replicas' relay (NATS) or listening connection (PostgreSQL) is killed
mid-stream."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from gamepay.bus import PostgresBus
from gamepay.bus.jetstream import NatsBus
from gamepay.bus.outbox import EventDraft, events_after, record_events
from gamepay.core.events import Event, EventType
from gamepay.store import Store
from gamepay.testing import fresh_postgres_database
from gamepay_ws import HmacTokenAuthenticator, WebsocketAdapter
from gamepay_ws.auth import issue_token
from tests.support.nats import private_stream
from tests.support.ws_client import Client, open_client

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PLAYERS = ("alice", "bob")


class OutboxBackend:
    """Only what pushes need of a shop: the player's events, read back from the outbox."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def events_after(self, player_id: str, last_id: int, limit: int) -> Sequence[Event]:
        """The player's stored events after ``last_id``."""

        async def read(conn: Any) -> list[Event]:
            return await events_after(conn, player_id, last_id, limit)

        return await self.store.read(read)


@dataclass
class Replica:
    """One game-server replica: store, bus and websocket URL."""

    store: Store
    bus: Any
    url: str

    async def commit(self, player: str, count: int, *, publish: bool = True) -> list[int]:
        """Commit ``count`` events of ``player``; publish them after the commit, or not (the
        replica crashed in between)."""
        drafts = [EventDraft(player, EventType.BALANCE_CHANGED, {"n": n}) for n in range(count)]

        async def write(conn: Any) -> list[Event]:
            return await record_events(conn, drafts, NOW)

        events = await self.store.run(write)
        if publish:
            await self.bus.publish(events)
        return [event.id for event in events]


@asynccontextmanager
async def replica(db_url: str, secret: str, make_bus: Any) -> AsyncIterator[Replica]:
    """A running replica whose bus is ``make_bus(store, backend)`` (started here)."""
    async with AsyncExitStack() as stack:
        store = await Store.connect(db_url, pool_size=8)
        stack.push_async_callback(store.close)
        await store.migrate()
        backend = OutboxBackend(store)
        bus = make_bus(store, backend)
        await bus.start()
        stack.push_async_callback(bus.close)
        adapter = WebsocketAdapter(backend, HmacTokenAuthenticator(secret), bus=bus)  # type: ignore[arg-type]
        server = await stack.enter_async_context(adapter.serve("127.0.0.1", 0))
        stack.callback(adapter.stop)
        port = server.sockets[0].getsockname()[1]
        yield Replica(store, bus, f"ws://127.0.0.1:{port}")


async def collect(client: Client, want: set[int], within: float = 20.0) -> list[int]:
    """Every event id pushed to ``client`` until all of ``want`` arrived, then half a second
    more (a duplicate would show up by then)."""
    got = [p["event_id"] for p in client.events()]
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    settle_until: float | None = None
    while True:
        now = loop.time()
        if settle_until is None and want <= set(got):
            settle_until = now + 0.5
        deadline = settle_until if settle_until is not None else end
        if now >= deadline:
            if settle_until is None:
                raise AssertionError(f"missing pushes: {sorted(want - set(got))[:10]}")
            return got
        try:
            message = json.loads(await asyncio.wait_for(client.ws.recv(), deadline - now))
        except TimeoutError:
            continue
        if message["type"] == "event":
            got.append(message["event_id"])


async def run_scenario(db_url: str, make_bus: Any, kill: Any, *, crashes: bool) -> None:
    """Players connect twice to each replica; both replicas commit events (with ``crashes``,
    some are never published, as by a crash after the commit); ``kill(a, b)`` strikes
    mid-stream; every connection then holds each of its player's events once."""
    secret = secrets.token_hex(32)
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(replica(db_url, secret, make_bus))
        b = await stack.enter_async_context(replica(db_url, secret, make_bus))
        clients: dict[str, list[Client]] = {player: [] for player in PLAYERS}
        for player in PLAYERS:
            token = issue_token(player, secret, 600)
            for node in (a, b, a, b):
                client = await stack.enter_async_context(
                    open_client(node.url, token, last_event_id=0)
                )
                await client.wait_push(lambda p: p["type"] == "replay_complete")
                clients[player].append(client)
        sent: dict[str, list[int]] = {player: [] for player in PLAYERS}
        for round_ in range(12):
            if round_ == 6:
                await kill(a, b)
            for player in PLAYERS:
                sent[player] += await a.commit(player, 3)
                sent[player] += await b.commit(player, 2, publish=not crashes or round_ % 4 != 3)
            await asyncio.sleep(0.02)
        for player in PLAYERS:
            for client in clients[player]:
                got = await collect(client, set(sent[player]))
                assert sorted(got) == sorted(sent[player]), player  # each once, none foreign


@pytest.mark.postgres
@pytest.mark.nats
async def test_nats_replicas_push_each_event_once_with_a_relay_killed(
    pg_url: str, nats_url: str
) -> None:
    """On NATS: replica A's relay is killed mid-stream; B's relay publishes what B's crashed
    publishes left out; every connection gets each event once."""
    async with fresh_postgres_database(pg_url) as db, private_stream(nats_url) as names:

        def make_bus(store: Store, backend: OutboxBackend) -> NatsBus:
            return NatsBus(
                nats_url,
                store,
                stream=names.stream,
                subject=names.subject,
                settle=0.3,
                poll_interval=0.05,
            )

        async def kill(a: Replica, b: Replica) -> None:
            await a.bus.stop_relay()

        await run_scenario(db, make_bus, kill, crashes=True)


@pytest.mark.postgres
async def test_postgres_replicas_push_each_event_once_with_the_listener_killed(
    pg_url: str,
) -> None:
    """On LISTEN/NOTIFY: replica A's listening connection is terminated mid-stream; A sends
    the notices it could not send once reconnected, and its adapter re-reads the outbox; every
    connection gets each event once."""
    async with fresh_postgres_database(pg_url) as db:

        def make_bus(store: Store, backend: OutboxBackend) -> PostgresBus:
            return PostgresBus(db, backend, reconnect_delay=0.05)

        async def kill(a: Replica, b: Replica) -> None:
            admin = await asyncpg.connect(db)
            try:
                await admin.execute("SELECT pg_terminate_backend($1)", a.bus.backend_pid)
            finally:
                await admin.close()

        await run_scenario(db, make_bus, kill, crashes=False)  # nothing relays crashed ones
