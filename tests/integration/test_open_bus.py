"""``open_bus`` picks the bus from the URL: in-process on SQLite, LISTEN/NOTIFY on PostgreSQL,
NATS JetStream for nats:// (a real server), and refuses anything else."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from gamepay.bus import InProcessBus, PostgresBus, open_bus
from gamepay.bus.jetstream import NatsBus
from gamepay.core.events import Event, EventType
from gamepay.errors import ConfigError
from gamepay.store import Store
from gamepay.testing import sqlite_url
from tests.support.nats import private_stream


class NoEvents:
    """A source with no events."""

    async def events_after(self, player_id: str, last_id: int, limit: int) -> Sequence[Event]:
        """Nothing."""
        return []


async def test_open_bus_picks_by_url_and_backend(db_url: str, backend: str) -> None:
    """No URL: the database's own bus; postgresql://: LISTEN/NOTIFY; other schemes refused."""
    store = await Store.connect(db_url)
    try:
        bus = open_bus(store, NoEvents(), database_url=db_url)
        expected = PostgresBus if backend == "postgresql" else InProcessBus
        assert isinstance(bus, expected)
        assert isinstance(
            open_bus(store, NoEvents(), database_url=db_url, bus_url="postgresql://h/db"),
            PostgresBus,
        )
        with pytest.raises(ConfigError):
            open_bus(store, NoEvents(), database_url=db_url, bus_url="redis://h:6379")
    finally:
        await store.close()


@pytest.mark.nats
async def test_open_bus_nats_on_sqlite_delivers(tmp_path: Path, nats_url: str) -> None:
    """A nats:// URL gives a NatsBus; on SQLite too it starts, publishes and delivers once."""
    url = sqlite_url(tmp_path / "bus.db")
    store = await Store.connect(url)
    try:
        await store.migrate()
        bus = open_bus(store, NoEvents(), database_url=url, bus_url=nats_url)
        assert isinstance(bus, NatsBus)
        assert (bus.stream, bus.subject) == ("GAMEPAY_EVENTS", "gamepay.events")
        assert nats_url not in repr(bus)
        named = open_bus(
            store, NoEvents(), database_url=url, bus_url=f"{nats_url}?stream=S1&subject=s.one"
        )
        assert isinstance(named, NatsBus)
        assert (named.stream, named.subject) == ("S1", "s.one")
        with pytest.raises(ConfigError):
            open_bus(store, NoEvents(), database_url=url, bus_url=f"{nats_url}?queue=x")
    finally:
        await store.close()
    async with private_stream(nats_url) as names:
        store = await Store.connect(url)
        got: list[int] = []

        async def on_event(event: Event) -> None:
            got.append(event.id)

        try:
            async with NatsBus(nats_url, store, stream=names.stream, subject=names.subject) as bus:
                bus.subscribe(on_event)
                await bus.publish([Event(1, "alice", EventType.BALANCE_CHANGED)])
                assert got == [1]
                assert bus.connected
        finally:
            await store.close()
