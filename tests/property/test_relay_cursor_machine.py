"""A hypothesis state machine over ``RelayCursor`` beside a model outbox and broker.

The model allocates outbox ids the way a sequence does: transactions begin (an id taken, no row
yet), commit (the row appears; its replica may or may not publish it) or roll back (the id stays
missing forever), out of order; the clock moves; relay rounds run as ``NatsBus.relay_once``
does, with the broker reachable or not. After every step: the position never moves back, and
every committed event at or below it is on the broker unless its transaction stayed open longer
than the gap grace. At the end, with every transaction settled and the broker back, one relay
rounds later every event committed within the grace is on the broker and the position is the
newest row.
"""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from gamepay.bus.relay import RelayCursor

SETTLE = 1.0
GRACE = 5.0


class RelayMachine(RuleBasedStateMachine):
    """Model outbox + broker beside the real cursor."""

    def __init__(self) -> None:
        super().__init__()
        self.cursor = RelayCursor(0, settle=SETTLE, gap_grace=GRACE)
        self.clock = 0.0
        self.next_id = 1
        self.open: dict[int, float] = {}
        self.committed: dict[int, tuple[float, float]] = {}  # id -> (begun, committed)
        self.broker: set[int] = set()
        self.last_position = 0

    @rule(count=st.integers(1, 4))
    def begin(self, count: int) -> None:
        """Transactions take ids (rows not visible yet)."""
        for _ in range(count):
            self.open[self.next_id] = self.clock
            self.next_id += 1

    @precondition(lambda self: self.open)
    @rule(data=st.data(), published=st.booleans())
    def commit(self, data: st.DataObject, published: bool) -> None:
        """An open transaction commits; its replica publishes it, or dies first."""
        event_id = data.draw(st.sampled_from(sorted(self.open)))
        self.committed[event_id] = (self.open.pop(event_id), self.clock)
        if published:
            self.broker.add(event_id)
            self.cursor.carried(event_id)

    @precondition(lambda self: self.open)
    @rule(data=st.data())
    def roll_back(self, data: st.DataObject) -> None:
        """An open transaction rolls back: its id never gets a row."""
        del self.open[data.draw(st.sampled_from(sorted(self.open)))]

    @rule(dt=st.sampled_from([0.0, 0.3, 1.0, 2.5, 6.0]))
    def tick(self, dt: float) -> None:
        """Time passes."""
        self.clock += dt

    @precondition(lambda self: any(i not in self.broker for i in self.committed))
    @rule(data=st.data())
    def another_relay_publishes(self, data: st.DataObject) -> None:
        """Another replica's relay put a committed event on the broker."""
        event_id = data.draw(st.sampled_from(sorted(set(self.committed) - self.broker)))
        self.broker.add(event_id)
        self.cursor.carried(event_id)

    @rule(reachable=st.booleans(), page=st.sampled_from([1, 3, 500]))
    def relay_round(self, reachable: bool, page: int) -> None:
        """One round of ``relay_once``: read pages of rows, re-read gaps, publish what is due (if
        the broker answers), move the position."""
        if not reachable:
            return  # relay_once does nothing while NATS is down
        cursor = self.cursor
        while True:
            ids = [i for i in sorted(self.committed) if i > cursor.scan][:page]
            cursor.scanned(ids, self.clock)
            if len(ids) < page:
                break
        cursor.appeared([i for i in cursor.gaps if i in self.committed], self.clock)
        for event_id in cursor.due(self.clock):
            assert event_id in self.committed
            self.broker.add(event_id)
            cursor.published(event_id)
        target = cursor.target(self.clock)
        assert target >= cursor.position
        cursor.moved(target)

    @invariant()
    def position_is_safe(self) -> None:
        """Monotonic; every committed event at or below it is on the broker, except one whose
        transaction stayed open past the grace (given up: it reaches its player by replay)."""
        position = self.cursor.position
        assert position >= self.last_position
        self.last_position = position
        for event_id, (begun, done) in self.committed.items():
            if event_id <= position and done - begun < GRACE:
                assert event_id in self.broker, (event_id, position)

    def teardown(self) -> None:
        """Settle everything, bring the broker back: two rounds publish every row committed in
        time (the ones given up before they committed reach their players by replay)."""
        for event_id in list(self.open):
            self.committed[event_id] = (self.open.pop(event_id), self.clock)
        self.relay_round(reachable=True, page=500)  # notices the last gaps
        self.clock += GRACE + SETTLE
        self.relay_round(reachable=True, page=500)
        in_time = {i for i, (begun, done) in self.committed.items() if done - begun < GRACE}
        assert in_time <= self.broker
        assert self.cursor.position == max(self.committed, default=0)
        assert self.cursor.in_doubt == 0


TestRelayCursor = RelayMachine.TestCase
