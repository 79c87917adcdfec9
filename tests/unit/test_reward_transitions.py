"""The reward run and payout transition tables: every legal move, and everything else refused."""

from __future__ import annotations

from itertools import product

import pytest

from gamepay.core.rewards import (
    PAYOUT_TRANSITIONS,
    RUN_TRANSITIONS,
    PayoutStatus,
    RunStatus,
    check_payout_transition,
    check_run_transition,
)
from gamepay.errors import IllegalTransition

R = RunStatus
P = PayoutStatus
RUN_LEGAL = {(R.PAYING, R.PAID), (R.PAYING, R.SENDING), (R.SENDING, R.PAID)}
PAYOUT_LEGAL = {(P.PENDING, P.PAID)}


def test_statuses_keep_their_stored_strings() -> None:
    """The enum values are the strings already stored in gp_reward_runs/gp_reward_payouts."""
    assert [str(s) for s in R] == ["paying", "sending", "paid"]
    assert [str(s) for s in P] == ["pending", "paid"]


def test_tables_are_exactly_the_documented_lifecycles() -> None:
    """The tables hold exactly the moves the module docstring draws."""
    assert set(RUN_TRANSITIONS) == RUN_LEGAL
    assert set(PAYOUT_TRANSITIONS) == PAYOUT_LEGAL


@pytest.mark.parametrize(("source", "target"), list(product(R, R)))
def test_every_run_pair_is_legal_or_refused(source: RunStatus, target: RunStatus) -> None:
    """check_run_transition returns the table entry for legal pairs and raises for all others."""
    if (source, target) in RUN_LEGAL:
        move = check_run_transition(source, target)
        assert (move.source, move.target) == (source, target)
    else:
        with pytest.raises(IllegalTransition):
            check_run_transition(source, target)


@pytest.mark.parametrize(("source", "target"), list(product(P, P)))
def test_every_payout_pair_is_legal_or_refused(source: PayoutStatus, target: PayoutStatus) -> None:
    """check_payout_transition returns legal pairs' entries and raises for all others."""
    if (source, target) in PAYOUT_LEGAL:
        move = check_payout_transition(source, target)
        assert (move.source, move.target) == (source, target)
    else:
        with pytest.raises(IllegalTransition):
            check_payout_transition(source, target)


def test_paid_is_terminal_and_nothing_goes_back() -> None:
    """Nothing leaves paid; nothing returns to paying or pending (a payout is paid once)."""
    assert not any(s is R.PAID for s, _ in RUN_TRANSITIONS)
    assert not any(t is R.PAYING for _, t in RUN_TRANSITIONS)
    assert not any(s is P.PAID for s, _ in PAYOUT_TRANSITIONS)
    assert not any(t is P.PENDING for _, t in PAYOUT_TRANSITIONS)


def test_strings_and_unknown_statuses() -> None:
    """Stored strings are accepted; an unknown status is an IllegalTransition, not a ValueError."""
    assert check_run_transition("sending", "paid").target is R.PAID
    assert check_payout_transition("pending", "paid").target is P.PAID
    with pytest.raises(IllegalTransition):
        check_run_transition("paying", "lost")
    with pytest.raises(IllegalTransition):
        check_payout_transition("gone", "paid")
