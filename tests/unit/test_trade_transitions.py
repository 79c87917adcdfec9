"""The trade lifecycle table in ``gamepay.core.trades``: who may do what, replays, expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gamepay.core.trades import (
    FINAL,
    TRANSITIONS,
    Role,
    TradeAction,
    TradeStatus,
    Verdict,
    decide,
    hold_id,
    is_due,
    settlement_id,
)

A, S = TradeAction, TradeStatus


def test_the_table_has_one_move_per_action_and_only_accept_settles() -> None:
    """accept/decline belong to the recipient, cancel to the proposer; only accept posts holds."""
    assert {a: (t.role, t.target, t.settles) for a, t in TRANSITIONS.items()} == {
        A.ACCEPT: (Role.RECIPIENT, S.ACCEPTED, True),
        A.DECLINE: (Role.RECIPIENT, S.DECLINED, False),
        A.CANCEL: (Role.PROPOSER, S.CANCELLED, False),
        A.EXPIRE: (Role.ANYONE, S.EXPIRED, False),
    }
    assert frozenset(TradeStatus) - FINAL == {S.OPEN}


@pytest.mark.parametrize(
    ("action", "role", "verdict"),
    [
        (A.ACCEPT, Role.RECIPIENT, Verdict.MOVE),
        (A.ACCEPT, Role.PROPOSER, Verdict.FORBIDDEN),
        (A.ACCEPT, None, Verdict.FORBIDDEN),
        (A.DECLINE, Role.PROPOSER, Verdict.FORBIDDEN),
        (A.CANCEL, Role.PROPOSER, Verdict.MOVE),
        (A.CANCEL, Role.RECIPIENT, Verdict.FORBIDDEN),
        (A.CANCEL, None, Verdict.FORBIDDEN),
    ],
)
def test_only_the_right_party_moves_an_open_trade(
    action: TradeAction, role: Role | None, verdict: Verdict
) -> None:
    """A stranger and the wrong party are forbidden before anything else is looked at."""
    assert decide(status=S.OPEN, action=action, actor_role=role, due=False, replay=False) is verdict


@pytest.mark.parametrize("status", sorted(FINAL))
@pytest.mark.parametrize("action", [A.ACCEPT, A.DECLINE])
def test_a_final_trade_never_moves_again(status: TradeStatus, action: TradeAction) -> None:
    """Every final status refuses; only the very request that closed it is answered again."""
    once = decide(status=status, action=action, actor_role=Role.RECIPIENT, due=True, replay=False)
    assert once is Verdict.CLOSED
    again = decide(status=status, action=action, actor_role=Role.RECIPIENT, due=False, replay=True)
    assert again is (Verdict.REPLAY if status is TRANSITIONS[action].target else Verdict.CLOSED)


def test_a_due_open_trade_is_expired_instead_of_accepted() -> None:
    """Past expires_at an accept (or a cancel) becomes an expiry; the sweep's expire moves."""
    for action, role in ((A.ACCEPT, Role.RECIPIENT), (A.CANCEL, Role.PROPOSER)):
        found = decide(status=S.OPEN, action=action, actor_role=role, due=True, replay=False)
        assert found is Verdict.EXPIRE
    swept = decide(status=S.OPEN, action=A.EXPIRE, actor_role=Role.ANYONE, due=True, replay=False)
    assert swept is Verdict.MOVE
    now = datetime(2026, 12, 5, tzinfo=UTC)
    assert is_due(now, now)
    assert not is_due(now + timedelta(microseconds=1), now)


def test_ledger_ids_of_a_trade() -> None:
    """The holds and the settlement batch are named after the trade."""
    assert hold_id("trd_1", 2) == "trade:trd_1/give/2"
    assert settlement_id("trd_1") == "trade:trd_1/want"
