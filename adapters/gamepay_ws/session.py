"""The protocol state of one websocket connection, with no I/O (sans-I/O, as h11 and websockets).

A :class:`Session` is told what happened and answers with what to do, in order; it never
awaits, reads a clock or touches a socket (the pump in :mod:`gamepay_ws.server` does):

=============================================  ==============================================
the pump feeds                                  the session may answer
=============================================  ==============================================
``receive(raw)``: a frame arrived               ``Send`` an error, ``CheckToken``, ``RunRequest``
``token_accepted(player)`` / ``token_rejected``  ``Join``, ``Send``, ``FetchEvents`` / ``Close``
``request_finished(reply)``                     ``Send`` the reply, then the pushes held back
``event_arrived(event)``: a live bus event      ``Send`` a push (or nothing: it waits)
``events_fetched(events, limit)``: a page       ``Send`` pushes, ``FetchEvents`` (next page)
``resync()``: the bus may have dropped events   ``FetchEvents`` after the last event sent
``close(code, reason)``                         ``Close``
=============================================  ==============================================

States (:class:`SessionState`)::

    AWAITING_AUTH --authenticate--> AUTHENTICATING --accepted, with last_event_id--> REPLAYING
          ^                              |         --accepted, without-------------> LIVE
          +-----------rejected-----------+                       REPLAYING --last page--> LIVE
    LIVE --request--> ANSWERING --request_finished--> LIVE       any --close--> CLOSING

Frames are fed only in ``AWAITING_AUTH``, ``LIVE`` and ``CLOSING`` (where they are ignored): one
operation of a connection runs at a time, so the pump reads the next frame after the actions of
the last one are done. Push rules, the same in every state that has a player:

- an event is pushed at most once, and only if its id is above the floor (the
  ``last_event_id`` the client sent, else 0); ids already pushed are remembered (a window of
  ``seen_window`` ids);
- while a replay or a resync reads stored events (a *catch-up*), live events wait and are
  pushed in id order when it ends, so the stored ones before them go first;
- while ``ANSWERING``, every push for this connection waits: the reply goes first, then the
  waiting events in id order;
- flow control: the session never hands the pump more than ``max_burst`` waiting events at
  once. When more are waiting (a long request while the player's other connections buy), they
  are dropped from memory and read back from the store by a catch-up instead, one
  ``FetchEvents`` page at a time, which the pump paces by how fast the client reads; so held
  pushes never count against a client that keeps reading. A catch-up page that arrives while a
  request runs is forgotten and read again after the reply (the catch-up is *paused*).
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from websockets.frames import CloseCode

from gamepay.core.events import Event
from gamepay.errors import AlreadyAuthenticated, GamepayError, NotAuthenticated
from gamepay_ws.protocol import (
    PROTOCOL_VERSION,
    Authenticate,
    ClientMessage,
    encode_frame,
    error_reply,
    event_push,
    parse_message,
)

__all__ = [
    "Action",
    "CheckToken",
    "Close",
    "FetchEvents",
    "Join",
    "RunRequest",
    "Send",
    "Session",
    "SessionState",
]


class SessionState(enum.Enum):
    """Where a connection is in the protocol (see the module docstring for the moves)."""

    AWAITING_AUTH = "awaiting_auth"
    """No player yet: only ``authenticate`` works."""
    AUTHENTICATING = "authenticating"
    """A token is being checked (``CheckToken``)."""
    REPLAYING = "replaying"
    """Authenticated; the stored events after ``last_event_id`` are being pushed."""
    LIVE = "live"
    """Authenticated and idle: requests are taken, live events are pushed."""
    ANSWERING = "answering"
    """A request runs (``RunRequest``); pushes wait for its reply."""
    CLOSING = "closing"
    """A close was decided; nothing more is sent."""


@dataclass(frozen=True, slots=True)
class Send:
    """Queue this text frame after the frames already queued."""

    frame: str


@dataclass(frozen=True, slots=True)
class CheckToken:
    """Verify a player token; feed ``token_accepted`` or ``token_rejected``."""

    token: str


@dataclass(frozen=True, slots=True)
class Join:
    """Route the player's live bus events to this session from now on."""

    player_id: str


@dataclass(frozen=True, slots=True)
class RunRequest:
    """Run the request for the player; feed its reply frame to ``request_finished``."""

    player_id: str
    message: ClientMessage


@dataclass(frozen=True, slots=True)
class FetchEvents:
    """Read the player's stored events with ``id > after``, oldest first, at most ``limit``.

    Feed them to ``events_fetched`` with the limit actually used (any number 1..``limit``).
    """

    player_id: str
    after: int
    limit: int


@dataclass(frozen=True, slots=True)
class Close:
    """Close the connection with this code and reason, after the frames already queued."""

    code: int
    reason: str


Action = Send | CheckToken | Join | RunRequest | FetchEvents | Close
"""Something the pump must do for a session."""

_WITH_PLAYER = (SessionState.REPLAYING, SessionState.LIVE, SessionState.ANSWERING)
_TAKES_FRAMES = (SessionState.AWAITING_AUTH, SessionState.LIVE)


@dataclass(slots=True)
class _CatchUp:
    """One reading of stored events: the authenticate replay or a resync."""

    cursor: int
    """The highest event id read so far (the next page starts after it)."""
    replay: bool
    """The authenticate replay (it ends in ``LIVE`` with ``replay_complete``)."""
    read: int = 0
    again: bool = False
    """A resync arrived meanwhile: keep reading after the last page instead of stopping."""
    paused: bool = False
    """No page is being read: the next one is asked for when the running request's reply is
    out (live events above ``cursor`` need not be kept meanwhile: that read will see them)."""


class Session:
    """Authentication and push ordering of one connection; fed events, it returns actions."""

    def __init__(
        self,
        *,
        max_auth_failures: int = 3,
        max_replay: int = 10_000,
        page_size: int = 200,
        seen_window: int = 4096,
        max_burst: int = 64,
    ) -> None:
        self.max_auth_failures = max_auth_failures
        self.max_replay = max_replay
        self.page_size = page_size
        self.seen_window = seen_window
        self.max_burst = max_burst
        """More events than this waiting at once are read back from the store, page by page."""
        self.state = SessionState.AWAITING_AUTH
        self.player_id: str | None = None
        self.floor = 0
        """Events at or below this id are never pushed (the client's ``last_event_id``)."""
        self.last_event_id = 0
        """The highest event id pushed (or the floor)."""
        self.tracking = False
        """The client asked for a replay, so a resync re-reads its events."""
        self._failures = 0
        self._checking: Authenticate | None = None
        self._catch_up: _CatchUp | None = None
        self._waiting: list[Event] = []
        self._seen: set[int] = set()
        self._seen_order: deque[int] = deque()

    # --- frames --------------------------------------------------------------------------------

    def receive(self, raw: str | bytes) -> list[Action]:
        """A frame arrived; only in ``AWAITING_AUTH`` or ``LIVE`` (ignored when ``CLOSING``)."""
        if self.state is SessionState.CLOSING:
            return []
        if self.state not in _TAKES_FRAMES:
            raise RuntimeError(f"a frame was fed while {self.state.name}")
        message, request_id, error = parse_message(raw)
        if message is None:
            assert error is not None
            return [Send(error_reply(request_id, error))]
        if isinstance(message, Authenticate):
            return self._authenticate(message)
        if self.player_id is None:
            return [Send(error_reply(request_id, NotAuthenticated("authenticate first")))]
        self.state = SessionState.ANSWERING
        return [RunRequest(self.player_id, message)]

    def _authenticate(self, message: Authenticate) -> list[Action]:
        if self.player_id is not None:
            refused = AlreadyAuthenticated("already authenticated")
            return [Send(error_reply(message.id, refused))]
        self.state = SessionState.AUTHENTICATING
        self._checking = message
        return [CheckToken(message.token)]

    def token_accepted(self, player_id: str) -> list[Action]:
        """The token of the ``CheckToken`` names ``player_id``."""
        message = self._checked()
        self.player_id = player_id
        self.tracking = message.last_event_id is not None
        self.floor = self.last_event_id = message.last_event_id or 0
        result = {
            "type": "authenticate_result",
            "id": message.id,
            "player_id": player_id,
            "protocol": PROTOCOL_VERSION,
        }
        actions: list[Action] = [Join(player_id), Send(encode_frame(result))]
        if not self.tracking:
            self.state = SessionState.LIVE
            return actions
        self.state = SessionState.REPLAYING
        self._catch_up = _CatchUp(cursor=self.floor, replay=True)
        return [*actions, self._fetch(self._catch_up)]

    def token_rejected(self, error: GamepayError) -> list[Action]:
        """The token of the ``CheckToken`` was refused; ``error`` is the reply's error."""
        message = self._checked()
        self.state = SessionState.AWAITING_AUTH
        self._failures += 1
        actions: list[Action] = [Send(error_reply(message.id, error))]
        if self._failures >= self.max_auth_failures:
            actions += self.close(CloseCode.POLICY_VIOLATION, "authentication failed")
        return actions

    def _checked(self) -> Authenticate:
        message = self._checking
        if self.state is not SessionState.AUTHENTICATING or message is None:
            raise RuntimeError(f"no token is being checked ({self.state.name})")
        self._checking = None
        return message

    def request_finished(self, reply: str) -> list[Action]:
        """The ``RunRequest`` finished with this reply frame: it goes before the held pushes."""
        if self.state is SessionState.CLOSING:
            return []
        if self.state is not SessionState.ANSWERING:
            raise RuntimeError(f"no request is running ({self.state.name})")
        self.state = SessionState.LIVE
        return [Send(reply), *self._release()]

    def auth_timed_out(self) -> list[Action]:
        """The pump's authentication deadline passed: close unless a player is known by now."""
        if self.player_id is not None:
            return []
        return self.close(CloseCode.POLICY_VIOLATION, "authentication timeout")

    def close(self, code: int, reason: str) -> list[Action]:
        """Close the connection (once); nothing is sent after the ``Close``."""
        if self.state is SessionState.CLOSING:
            return []
        self.state = SessionState.CLOSING
        self._waiting.clear()
        self._catch_up = None
        return [Close(code, reason)]

    # --- pushes --------------------------------------------------------------------------------

    def event_arrived(self, event: Event) -> list[Action]:
        """A live event from the bus: pushed now, kept, or left to the catch-up that reads it."""
        if event.player_id != self.player_id or self.state not in _WITH_PLAYER:
            return []
        catch_up = self._catch_up
        if self.state is SessionState.LIVE and catch_up is None:
            return self._push(event)
        if catch_up is not None and catch_up.paused and event.id > catch_up.cursor:
            return []  # stored already; the paused catch-up reads it when it resumes
        self._waiting.append(event)
        held = self.state is SessionState.ANSWERING and catch_up is None
        if held and len(self._waiting) > self.max_burst:
            # Too many to hold: read them back from the store, paced, after the reply.
            cursor = min(e.id for e in self._waiting) - 1
            self._catch_up = _CatchUp(cursor=cursor, replay=False, paused=True)
            self._waiting = []
        return []

    def events_fetched(self, events: Sequence[Event], limit: int) -> list[Action]:
        """The answer to ``FetchEvents`` read with ``limit``: fewer events means no more."""
        catch_up = self._catch_up
        if catch_up is None or self.state not in _WITH_PLAYER:
            return []
        if self.state is SessionState.ANSWERING:
            # A reply goes first: forget this page, read it again after the reply.
            catch_up.paused = True
            self._waiting = [e for e in self._waiting if e.id <= catch_up.cursor]
            return []
        actions: list[Action] = []
        for event in events:
            catch_up.cursor = max(catch_up.cursor, event.id)
            if event.player_id != self.player_id:  # never another player's event
                continue
            catch_up.read += 1
            actions += self._push(event)
        actions += self._push_waiting(up_to=catch_up.cursor)
        capped = catch_up.replay and catch_up.read >= self.max_replay
        if not capped and (len(events) >= limit or catch_up.again):
            catch_up.again = False
            if len(self._waiting) > self.max_burst:
                self._waiting = []  # all above the cursor: the next pages read them
            return [*actions, self._fetch(catch_up)]
        if catch_up.replay:  # everything stored was read: the replay is over
            self.state = SessionState.LIVE
        if not capped and len(self._waiting) > self.max_burst:
            if catch_up.replay:
                catch_up.replay = False
                actions.append(self._replay_complete())
            self._waiting = []
            return [*actions, self._fetch(catch_up)]
        self._catch_up = None
        actions += self._push_waiting(up_to=None)
        if catch_up.replay:
            actions.append(self._replay_complete())
        return actions

    def _replay_complete(self) -> Send:
        return Send(encode_frame({"type": "replay_complete", "last_event_id": self.last_event_id}))

    def resync(self) -> list[Action]:
        """The bus may have lost events: read the stored ones after the last event pushed."""
        if self.state not in _WITH_PLAYER or not (self.tracking or self.last_event_id > 0):
            return []
        if self._catch_up is not None:
            self._catch_up.again = True
            return []
        answering = self.state is SessionState.ANSWERING
        self._catch_up = _CatchUp(cursor=self.last_event_id, replay=False, paused=answering)
        return [] if answering else [self._fetch(self._catch_up)]

    def _fetch(self, catch_up: _CatchUp) -> FetchEvents:
        assert self.player_id is not None
        limit = self.page_size
        if catch_up.replay:
            limit = max(1, min(limit, self.max_replay - catch_up.read))
        return FetchEvents(self.player_id, catch_up.cursor, limit)

    def _release(self) -> list[Action]:
        """After a reply: resume a paused catch-up, read a large backlog back, or push it."""
        catch_up = self._catch_up
        if catch_up is not None:
            actions = self._push_waiting(up_to=catch_up.cursor)
            if not catch_up.paused:
                return actions  # a page is being read; it decides what comes next
            catch_up.paused = False
            self._waiting = []
            return [*actions, self._fetch(catch_up)]
        if len(self._waiting) <= self.max_burst:
            return self._push_waiting(up_to=None)
        cursor = min(e.id for e in self._waiting) - 1
        self._waiting = []
        self._catch_up = _CatchUp(cursor=cursor, replay=False)
        return [self._fetch(self._catch_up)]

    def _push_waiting(self, up_to: int | None) -> list[Action]:
        """Push the waiting events with ids up to ``up_to`` (all when None), in id order."""
        if not self._waiting:
            return []
        ready = sorted(
            (e for e in self._waiting if up_to is None or e.id <= up_to), key=lambda e: e.id
        )
        self._waiting = [e for e in self._waiting if up_to is not None and e.id > up_to]
        actions: list[Action] = []
        for event in ready:
            actions += self._push(event)
        return actions

    def _push(self, event: Event) -> list[Action]:
        if event.id <= self.floor or event.id in self._seen:
            return []
        self._seen.add(event.id)
        self._seen_order.append(event.id)
        if len(self._seen_order) > self.seen_window:
            self._seen.discard(self._seen_order.popleft())
        self.last_event_id = max(self.last_event_id, event.id)
        return [Send(event_push(event))]
