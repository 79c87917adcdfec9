"""Event buses: in-process fan-out, and PostgreSQL LISTEN/NOTIFY between separate connections."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Sequence

import asyncpg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gamepay.bus import InProcessBus, PostgresBus
from gamepay.bus.postgres import notice_payloads, parse_notice
from gamepay.core.events import Event, EventType
from gamepay.testing import fresh_postgres_database


class ListSource:
    """A list of already-committed events, read back like the services' outbox."""

    def __init__(self, events: list[Event]) -> None:
        self.events = events

    async def events_after(self, player_id: str, last_id: int, limit: int) -> Sequence[Event]:
        """The player's events after ``last_id``, oldest first."""
        found = [e for e in self.events if e.player_id == player_id and e.id > last_id]
        return sorted(found, key=lambda e: e.id)[:limit]


def _event(n: int, player: str = "alice") -> Event:
    return Event(id=n, player_id=player, type=EventType.BALANCE_CHANGED, payload={"n": n})


async def test_in_process_bus_delivers_in_order_and_unsubscribes() -> None:
    """Every subscriber gets every event in order; a closed subscription gets nothing more."""
    bus = InProcessBus()
    got_a: list[int] = []
    got_b: list[int] = []

    async def a(event: Event) -> None:
        got_a.append(event.id)

    async def b(event: Event) -> None:
        got_b.append(event.id)

    sub_a = bus.subscribe(a)
    bus.subscribe(b)
    await bus.publish([_event(1), _event(2)])
    sub_a.close()
    sub_a.close()
    await bus.publish([_event(3)])
    assert got_a == [1, 2]
    assert got_b == [1, 2, 3]


async def test_a_failing_subscriber_does_not_stop_the_others() -> None:
    """A handler that raises is logged; publish neither raises nor skips later handlers."""
    bus = InProcessBus()
    got: list[int] = []

    async def broken(event: Event) -> None:
        raise RuntimeError("boom")

    async def fine(event: Event) -> None:
        got.append(event.id)

    bus.subscribe(broken)
    bus.subscribe(fine)
    await bus.publish([_event(1)])
    assert got == [1]


def test_notice_parsing_refuses_garbage() -> None:
    """Only {"e": [[positive int, str], ...]} (or the older single form) is a notice."""
    assert parse_notice('{"id": 3, "player_id": "p"}') == [("p", 3)]
    assert parse_notice('{"e": [[3, "p"], [4, "q"]]}') == [("p", 3), ("q", 4)]
    for bad in [
        "",
        "x",
        "[]",
        '{"id": "3", "player_id": "p"}',
        '{"id": 0, "player_id": "p"}',
        '{"id": true, "player_id": "p"}',
        '{"id": 3, "player_id": 4}',
        '{"e": []}',
        '{"e": [[3]]}',
        '{"e": [[3, "p"], [0, "q"]]}',
        '{"e": {"3": "p"}}',
    ]:
        assert parse_notice(bad) is None


@given(
    st.lists(st.tuples(st.integers(1, 2**62), st.text(min_size=1, max_size=200)), max_size=300),
    st.integers(60, 8000),
)
def test_notice_payloads_pack_every_event_under_the_limit(
    pairs: list[tuple[int, str]], limit: int
) -> None:
    """Packing keeps every pair that fits alone, in order, each payload at most ``limit`` bytes,
    and a new payload starts only when the next pair would not fit."""
    payloads = notice_payloads(pairs, limit)
    assert all(len(p.encode()) <= limit for p in payloads)
    unpacked = []
    for payload in payloads:
        parsed = parse_notice(payload)
        assert parsed is not None
        unpacked += [(event_id, player) for player, event_id in parsed]
    fitting = [
        (i, p)
        for i, p in pairs
        if len(json.dumps([i, p], separators=(",", ":")).encode()) + 8 <= limit
    ]
    assert unpacked == fitting
    for first, second in itertools.pairwise(payloads):
        head = json.dumps(json.loads(second)["e"][0], separators=(",", ":"))
        assert len(first.encode()) + 1 + len(head.encode()) > limit


async def _wait_for(predicate: object, within: float = 5.0) -> None:
    assert callable(predicate)
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while not predicate():
        if loop.time() > end:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


@pytest.mark.postgres
async def test_postgres_bus_crosses_connections(pg_url: str) -> None:
    """An event published on bus A reaches a subscriber of bus B, re-read from B's source."""
    async with fresh_postgres_database(pg_url) as url:
        events: list[Event] = []
        source = ListSource(events)
        got_a: list[Event] = []
        got_b: list[Event] = []
        async with PostgresBus(url, source) as bus_a, PostgresBus(url, source) as bus_b:

            async def on_a(event: Event) -> None:
                got_a.append(event)

            async def on_b(event: Event) -> None:
                got_b.append(event)

            bus_a.subscribe(on_a)
            bus_b.subscribe(on_b)
            batch = [_event(1), _event(2, "bob"), _event(3)]
            events.extend(batch)  # committed first, then published
            await bus_a.publish(batch)
            await _wait_for(lambda: len(got_b) == 3)
            assert sorted(e.id for e in got_b) == [1, 2, 3]
            assert {e.id: e.player_id for e in got_b} == {1: "alice", 2: "bob", 3: "alice"}
            assert [e.id for e in got_a] == [1, 2, 3]  # local delivery, not doubled by NOTIFY
            await asyncio.sleep(0.1)
            assert len(got_a) == 3


@pytest.mark.postgres
async def test_postgres_bus_reconnects_and_resyncs(pg_url: str) -> None:
    """When the listening connection is killed, the bus reconnects and calls its resync hook."""
    async with fresh_postgres_database(pg_url) as url:
        events: list[Event] = []
        source = ListSource(events)
        got: list[int] = []
        resyncs: list[bool] = []
        async with (
            PostgresBus(url, source, reconnect_delay=0.05) as sender,
            PostgresBus(url, source, reconnect_delay=0.05) as listener,
        ):

            async def on_event(event: Event) -> None:
                got.append(event.id)

            async def on_resync() -> None:
                resyncs.append(True)

            listener.subscribe(on_event)
            listener.add_reconnect_handler(on_resync)
            pid = listener.backend_pid
            admin = await asyncpg.connect(url)
            try:
                await admin.execute("SELECT pg_terminate_backend($1)", pid)
            finally:
                await admin.close()
            await _wait_for(lambda: resyncs and listener.connected)
            events.append(_event(7))
            await sender.publish([_event(7)])
            await _wait_for(lambda: got == [7])


@pytest.mark.postgres
async def test_concurrent_publishes_share_one_notifying_commit(pg_url: str) -> None:
    """Fifty concurrent publishes of one event each go out in far fewer NOTIFY statements (the
    global commit lock is taken once per batch), and the listener still gets all fifty."""
    async with fresh_postgres_database(pg_url) as url:
        events = [_event(n, f"p{n % 7}") for n in range(1, 51)]
        source = ListSource(events)
        got: list[int] = []
        async with PostgresBus(url, source) as sender, PostgresBus(url, source) as listener:

            async def on_event(event: Event) -> None:
                got.append(event.id)

            listener.subscribe(on_event)
            await asyncio.gather(*(sender.publish([event]) for event in events))
            await _wait_for(lambda: len(got) == 50)
            assert sorted(got) == list(range(1, 51))
            assert 1 <= sender.notify_commits < 10
            await sender.publish([_event(51)])
            assert sender.notify_commits >= 2


class CountingSource(ListSource):
    """A ``ListSource`` that records which players' events were read back."""

    def __init__(self, events: list[Event]) -> None:
        super().__init__(events)
        self.read_for: list[str] = []

    async def events_after(self, player_id: str, last_id: int, limit: int) -> Sequence[Event]:
        """Record the read, then answer it."""
        self.read_for.append(player_id)
        return await super().events_after(player_id, last_id, limit)


@pytest.mark.postgres
async def test_postgres_bus_rereads_only_the_players_its_subscribers_want(pg_url: str) -> None:
    """A listener wanting only alice never re-reads bob's events, until a subscriber wants all."""
    async with fresh_postgres_database(pg_url) as url:
        events = [_event(1, "bob"), _event(2), _event(3, "bob"), _event(4), _event(5, "bob")]
        source = CountingSource(events)
        got: list[int] = []
        async with PostgresBus(url, source) as sender, PostgresBus(url, source) as listener:

            async def on_event(event: Event) -> None:
                got.append(event.id)

            listener.subscribe(on_event, players={"alice"}.__contains__)
            await sender.publish(events[:4])
            await _wait_for(lambda: got == [2, 4])
            await asyncio.sleep(0.2)  # bob's notices are handled (skipped) by now too
            assert set(source.read_for) == {"alice"}
            listener.subscribe(on_event)  # a subscriber that wants everyone
            await sender.publish(events[4:])
            await _wait_for(lambda: 5 in got)
            assert "bob" in source.read_for
