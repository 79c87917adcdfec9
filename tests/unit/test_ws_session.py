"""The sans-I/O session: authentication, the reply-first rule, replay floor and push order."""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from gamepay.core.events import Event, EventType
from gamepay.errors import TokenRejected
from gamepay_ws.protocol import Ping
from gamepay_ws.session import (
    Action,
    CheckToken,
    Close,
    FetchEvents,
    Join,
    RunRequest,
    Send,
    Session,
    SessionState,
)

CI = os.environ.get("HYPOTHESIS_PROFILE") == "ci"


def _event(n: int, player: str = "p") -> Event:
    return Event(n, player, EventType.BALANCE_CHANGED, {"n": n})


def _frames(actions: Sequence[Action]) -> list[dict[str, Any]]:
    return [json.loads(a.frame) for a in actions if isinstance(a, Send)]


def _pushed(actions: Sequence[Action]) -> list[int]:
    return [f["event_id"] for f in _frames(actions) if f["type"] == "event"]


def _authenticate(**fields: Any) -> str:
    return json.dumps({"type": "authenticate", "id": "a", "token": "t", **fields})


def _live(session: Session, player: str = "p", **auth: Any) -> list[Action]:
    """Authenticate ``session`` as ``player``; the actions of the accepted token."""
    assert session.receive(_authenticate(**auth)) == [CheckToken("t")]
    return session.token_accepted(player)


def test_nothing_but_authenticate_works_before_a_player_is_known() -> None:
    """Requests get not_authenticated, live events are dropped, bad frames get typed errors."""
    session = Session()
    assert _frames(session.receive('{"type": "ping", "id": 1}'))[0]["code"] == "not_authenticated"
    assert _frames(session.receive("{nope"))[0]["code"] == "bad_json"
    assert session.event_arrived(_event(1)) == []
    assert session.resync() == []
    assert session.state is SessionState.AWAITING_AUTH


def test_authenticate_without_replay_goes_live() -> None:
    """An accepted token joins the player, answers, and pushes live events at once."""
    session = Session()
    actions = _live(session, "alice")
    assert actions[0] == Join("alice")
    assert _frames(actions) == [
        {"type": "authenticate_result", "id": "a", "player_id": "alice", "protocol": 2}
    ]
    assert session.state is SessionState.LIVE
    assert _pushed(session.event_arrived(_event(5, "alice"))) == [5]
    assert session.event_arrived(_event(6, "bob")) == []
    again = session.receive(_authenticate())
    assert _frames(again)[0]["code"] == "already_authenticated"


def test_rejected_tokens_close_after_the_limit() -> None:
    """Each rejection is answered; the last one allowed also closes with 1008."""
    session = Session(max_auth_failures=2)
    session.receive(_authenticate())
    first = session.token_rejected(TokenRejected("bad"))
    assert [f["code"] for f in _frames(first)] == ["token_rejected"]
    assert session.state is SessionState.AWAITING_AUTH
    session.receive(_authenticate())
    second = session.token_rejected(TokenRejected("bad"))
    assert second[-1] == Close(1008, "authentication failed")
    assert session.state is SessionState.CLOSING
    assert session.receive(_authenticate()) == []


def test_auth_timeout_closes_only_an_unauthenticated_session() -> None:
    """The pump's deadline closes with 1008 unless a player is known."""
    assert Session().auth_timed_out() == [Close(1008, "authentication timeout")]
    session = Session()
    _live(session)
    assert session.auth_timed_out() == []


def test_the_reply_goes_before_the_pushes_its_request_caused() -> None:
    """While a request runs its pushes wait; they follow the reply in id order."""
    session = Session()
    _live(session)
    run = session.receive('{"type": "ping", "id": 7}')
    assert run == [RunRequest("p", Ping(type="ping", id=7))]
    assert session.state is SessionState.ANSWERING
    assert session.event_arrived(_event(3)) == []
    assert session.event_arrived(_event(2)) == []
    with pytest.raises(RuntimeError):
        session.receive('{"type": "ping", "id": 8}')  # one operation at a time
    done = session.request_finished('{"type":"ping_result","id":7}')
    assert done[0] == Send('{"type":"ping_result","id":7}')
    assert _pushed(done) == [2, 3]
    assert session.state is SessionState.LIVE


def test_a_replay_pages_through_and_ends_with_replay_complete() -> None:
    """Pages are asked after the floor; a short page ends the replay, then live events go."""
    session = Session(page_size=2)
    actions = _live(session, last_event_id=4)
    assert actions[-1] == FetchEvents("p", 4, 2)
    assert session.state is SessionState.REPLAYING
    assert session.event_arrived(_event(9)) == []  # waits for the stored events before it
    page = session.events_fetched([_event(5), _event(6)], 2)
    assert _pushed(page) == [5, 6]
    assert page[-1] == FetchEvents("p", 6, 2)
    end = session.events_fetched([_event(7)], 2)
    assert _pushed(end) == [7, 9]
    assert _frames(end)[-1] == {"type": "replay_complete", "last_event_id": 9}
    assert session.state is SessionState.LIVE


def test_close_stops_every_push() -> None:
    """After close nothing is sent, and a second close is a no-op."""
    session = Session()
    _live(session)
    assert session.close(1009, "message too big") == [Close(1009, "message too big")]
    assert session.close(1008, "again") == []
    assert session.event_arrived(_event(1)) == []
    assert session.receive('{"type": "ping", "id": 1}') == []


@given(
    floor=st.integers(0, 20),
    offers=st.lists(st.integers(1, 40), max_size=80),
    paused=st.lists(st.integers(1, 40), max_size=30),
)
def test_each_event_above_the_floor_is_pushed_once(
    floor: int, offers: list[int], paused: list[int]
) -> None:
    """Duplicates and out-of-order ids are absorbed; events held during a replay come after."""
    session = Session(page_size=1000)
    _live(session, last_event_id=floor)
    sent: list[Action] = []
    for n in paused:  # live events arriving while the replay runs are held, not lost
        sent += session.event_arrived(_event(n))
    assert sent == []
    sent += session.events_fetched([_event(n) for n in offers], 1000)
    expected = list(dict.fromkeys(n for n in offers if n > floor))
    expected += [n for n in sorted(set(paused)) if n > floor and n not in expected]
    assert _pushed(sent) == expected
    assert session.last_event_id == max([floor, *expected])


class SessionMachine(RuleBasedStateMachine):
    """A store, a bus that may drop, requests and a session, interleaved in any order.

    The model: events are committed with increasing ids; the bus delivers committed events in
    commit order unless it is down (then they are lost until it reconnects and asks for a
    resync); a fetch is answered from the store as it was at some moment since it was asked,
    with any limit up to the one asked. An event committed while a request runs is caused by
    that request.
    """

    max_burst = 64

    def __init__(self) -> None:
        super().__init__()
        self.session = Session(page_size=3, max_replay=10**6, max_burst=self.max_burst)
        self.store: list[int] = []
        self.undelivered: deque[int] = deque()
        self.bus_down = False
        self.fetch: FetchEvents | None = None
        self.fetch_issued_at = 0
        """Events in the store when the fetch was asked: its read sees at least those."""
        self.request: int | None = None
        self.requests = 0
        self.caused: dict[int, int] = {}
        self.log: list[tuple[str, int]] = []
        self.floor = 0

    def _do(self, actions: Sequence[Action]) -> None:
        for action in actions:
            if isinstance(action, Send):
                frame = json.loads(action.frame)
                if frame["type"] == "event":
                    self.log.append(("push", frame["event_id"]))
                elif frame["type"] == "ping_result":
                    self.log.append(("reply", frame["id"]))
            elif isinstance(action, FetchEvents):
                assert self.fetch is None, "one catch-up at a time"
                assert action.limit >= 1
                self.fetch = action
                self.fetch_issued_at = len(self.store)
            elif isinstance(action, RunRequest):
                assert self.request is None
                assert isinstance(action.message.id, int)
                self.request = action.message.id
            else:
                assert isinstance(action, (Join, CheckToken)), action

    @initialize(before=st.integers(0, 8), floor=st.integers(0, 8))
    def connect(self, before: int, floor: int) -> None:
        """Some events exist already; the client authenticates with a floor."""
        self.store = list(range(1, before + 1))
        self.floor = floor
        self._do(self.session.receive(_authenticate(last_event_id=floor)))
        self._do(self.session.token_accepted("p"))

    @rule()
    def commit(self) -> None:
        """A new event is committed (caused by the running request, if any)."""
        n = len(self.store) + 1
        self.store.append(n)
        if self.request is not None:
            self.caused[n] = self.request
        if not self.bus_down:
            self.undelivered.append(n)

    @precondition(lambda self: bool(self.undelivered))
    @rule()
    def deliver(self) -> None:
        """The bus delivers the oldest undelivered event."""
        self._do(self.session.event_arrived(_event(self.undelivered.popleft())))

    @precondition(lambda self: not self.bus_down)
    @rule()
    def drop(self) -> None:
        """The bus goes down: what it has not delivered is lost."""
        self.bus_down = True
        self.undelivered.clear()

    @precondition(lambda self: self.bus_down)
    @rule()
    def reconnect(self) -> None:
        """The bus is back and asks every session to resync."""
        self.bus_down = False
        self._do(self.session.resync())

    @precondition(lambda self: not self.bus_down)
    @rule()
    def blip(self) -> None:
        """A short outage: one event committed meanwhile is lost, then the bus resyncs."""
        self.drop()
        self.commit()
        self.reconnect()

    @precondition(lambda self: self.fetch is not None)
    @rule(shrink=st.integers(0, 2), lag=st.integers(0, 3))
    def answer_fetch(self, shrink: int, lag: int) -> None:
        """The store answers the fetch as read at some moment since it was asked (the pump
        may have asked for fewer than the session's limit)."""
        fetch = self.fetch
        assert fetch is not None
        self.fetch = None
        limit = max(1, fetch.limit - shrink)
        visible = self.store[: max(self.fetch_issued_at, len(self.store) - lag)]
        found = [n for n in visible if n > fetch.after][:limit]
        self._do(self.session.events_fetched([_event(n) for n in found], limit))

    @precondition(lambda self: self.session.state is SessionState.LIVE)
    @rule()
    def start_request(self) -> None:
        """The client sends a request (only read when the last one is done)."""
        self.requests += 1
        self._do(self.session.receive(json.dumps({"type": "ping", "id": self.requests})))

    @precondition(lambda self: self.request is not None)
    @rule()
    def finish_request(self) -> None:
        """The running request answers."""
        reply = json.dumps({"type": "ping_result", "id": self.request})
        self.request = None
        self._do(self.session.request_finished(reply))

    @invariant()
    def pushes_are_once_in_order_above_the_floor_after_their_reply(self) -> None:
        """Pushed ids strictly increase, exceed the floor, and follow their request's reply."""
        pushed = [n for kind, n in self.log if kind == "push"]
        assert pushed == sorted(set(pushed))
        assert all(n > self.floor for n in pushed)
        replied: set[int] = set()
        for kind, n in self.log:
            if kind == "reply":
                replied.add(n)
            elif n in self.caused:
                assert self.caused[n] in replied, f"event {n} pushed before its reply"

    def teardown(self) -> None:
        """Once everything settles, every stored event above the floor was pushed."""
        if self.request is not None:
            self.finish_request()
        if self.bus_down:
            self.reconnect()
        while self.undelivered or self.fetch is not None:
            if self.fetch is not None:
                self.answer_fetch(0, 0)
            else:
                self.deliver()
        pushed = [n for kind, n in self.log if kind == "push"]
        assert pushed == [n for n in self.store if n > self.floor]
        assert self.session.state is SessionState.LIVE


SessionMachine.TestCase.settings = settings(
    max_examples=500 if CI else 150, stateful_step_count=40, deadline=None
)
TestSessionMachine = SessionMachine.TestCase


class FlowControlMachine(SessionMachine):
    """The same model with a tiny burst: held and waiting events are mostly read back."""

    max_burst = 2


FlowControlMachine.TestCase.settings = SessionMachine.TestCase.settings
TestFlowControlMachine = FlowControlMachine.TestCase


def test_a_resync_during_a_catch_up_reads_on_after_its_last_page() -> None:
    """Events lost while the last page was being read are fetched before the replay ends."""
    session = Session(page_size=3)
    fetch = _live(session, last_event_id=0)[-1]
    assert fetch == FetchEvents("p", 0, 3)
    assert session.resync() == []  # the bus came back while the replay reads
    again = session.events_fetched([_event(1)], 3)
    assert _pushed(again) == [1]
    assert again[-1] == FetchEvents("p", 1, 3)
    end = session.events_fetched([_event(2)], 3)
    assert _pushed(end) == [2]
    assert _frames(end)[-1] == {"type": "replay_complete", "last_event_id": 2}


def test_a_long_request_holds_no_more_than_a_burst_and_reads_the_rest_back() -> None:
    """600 events during one request: the reply goes first, then paced pages from the store."""
    session = Session(page_size=200, max_burst=64)
    _live(session)
    assert isinstance(session.receive('{"type": "ping", "id": 1}')[0], RunRequest)
    for n in range(1, 601):
        assert session.event_arrived(_event(n)) == []
    assert len(session._waiting) <= 64  # the rest is not kept in memory
    after_reply = session.request_finished('{"type": "ping_result", "id": 1}')
    assert _frames(after_reply)[0]["type"] == "ping_result"
    assert _pushed(after_reply) == []  # nothing queued at once
    assert after_reply[-1] == FetchEvents("p", 0, 200)
    pushed: list[int] = []
    fetch = after_reply[-1]
    while isinstance(fetch, FetchEvents):
        page = [_event(n) for n in range(fetch.after + 1, min(fetch.after + fetch.limit, 600) + 1)]
        actions = session.events_fetched(page, fetch.limit)
        assert len(_pushed(actions)) <= 200
        pushed += _pushed(actions)
        fetch = actions[-1] if actions and isinstance(actions[-1], FetchEvents) else None
    assert pushed == list(range(1, 601))
    assert session.state is SessionState.LIVE
    assert _pushed(session.event_arrived(_event(601))) == [601]  # live again


def test_a_page_that_arrives_during_a_request_is_read_again_after_the_reply() -> None:
    """A resync's page landing while a request runs is forgotten, then read after the reply."""
    session = Session(page_size=3)
    _live(session, last_event_id=0)
    session.events_fetched([], 3)  # the replay: nothing stored yet
    assert _pushed(session.event_arrived(_event(1))) == [1]
    session.receive('{"type": "ping", "id": 1}')
    session.resync()  # the bus dropped: paused, since a request runs
    assert session.events_fetched([_event(2), _event(3)], 3) == []
    actions = session.request_finished('{"type": "ping_result", "id": 1}')
    assert _frames(actions)[0]["type"] == "ping_result"
    assert actions[-1] == FetchEvents("p", 1, 3)
    assert _pushed(session.events_fetched([_event(2), _event(3)], 3)) == [2, 3]
