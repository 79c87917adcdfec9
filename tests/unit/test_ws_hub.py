"""A connection's push filter: every event above the replay floor is queued exactly once."""

from __future__ import annotations

import json
from typing import Any, cast

from hypothesis import given
from hypothesis import strategies as st

from gamepay.core.events import Event, EventType
from gamepay_ws.server import AdapterConfig, _Connection


def _queued_ids(conn: _Connection) -> list[int]:
    ids = []
    while not conn.outbox.empty():
        frame = conn.outbox.get_nowait()
        assert isinstance(frame, str)
        ids.append(json.loads(frame)["event_id"])
    return ids


@given(
    floor=st.integers(0, 20),
    offers=st.lists(st.integers(1, 40), max_size=80),
    paused=st.lists(st.integers(1, 40), max_size=30),
)
def test_each_event_above_the_floor_is_pushed_once(
    floor: int, offers: list[int], paused: list[int]
) -> None:
    """Duplicates and out-of-order ids are absorbed; events held during a replay come after."""
    conn = _Connection(cast(Any, None), AdapterConfig(outbox_size=1000))
    conn.floor = conn.last_event_id = floor  # as authenticate sets them
    conn.replaying = True
    for n in paused:  # live events arriving while the replay runs are held, not lost
        conn.offer(Event(n, "p", EventType.BALANCE_CHANGED))
    assert conn.outbox.empty()
    conn.replaying = False
    for n in offers:
        conn.offer(Event(n, "p", EventType.BALANCE_CHANGED))
    for event in sorted(conn.pending, key=lambda e: e.id):
        conn.offer(event)
    expected = list(dict.fromkeys(n for n in offers if n > floor))
    expected += [n for n in sorted(set(paused)) if n > floor and n not in expected]
    assert _queued_ids(conn) == expected
    assert conn.last_event_id == max([floor, *expected])
