"""The intent transition table: legal steps, chains of steps, verdicts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gamepay.core.intents import TERMINAL, TRANSITIONS, Verdict, is_legal, judge, steps
from gamepay.kryptogo.models import PaymentStatus as S

statuses = st.sampled_from(list(S))


def test_table_is_the_documented_one() -> None:
    """Exactly the four documented moves are legal."""
    moves = {(a, b) for a, nexts in TRANSITIONS.items() for b in nexts}
    assert moves == {
        (S.PENDING, S.SUCCESS),
        (S.PENDING, S.EXPIRED),
        (S.PENDING, S.INSUFFICIENT_NOT_REFUNDED),
        (S.INSUFFICIENT_NOT_REFUNDED, S.INSUFFICIENT_REFUNDED),
    }
    assert {S.SUCCESS, S.EXPIRED, S.INSUFFICIENT_REFUNDED} == TERMINAL


@pytest.mark.parametrize(
    ("old", "new", "verdict"),
    [
        (S.PENDING, S.SUCCESS, Verdict.APPLY),
        (S.SUCCESS, S.SUCCESS, Verdict.DUPLICATE),
        (S.SUCCESS, S.PENDING, Verdict.REFUSE),
        (S.EXPIRED, S.SUCCESS, Verdict.REFUSE),
        (S.SUCCESS, S.EXPIRED, Verdict.REFUSE),
        (S.INSUFFICIENT_REFUNDED, S.INSUFFICIENT_NOT_REFUNDED, Verdict.REFUSE),
        (S.PENDING, S.INSUFFICIENT_REFUNDED, Verdict.APPLY),
    ],
)
def test_verdicts(old: S, new: S, verdict: Verdict) -> None:
    """Duplicates, legal moves and refused (stale or illegal) moves are told apart."""
    assert judge(old, new) is verdict


def test_skipped_intermediate_status_becomes_a_chain() -> None:
    """pending -> insufficient_refunded is applied as both legal steps."""
    assert steps(S.PENDING, S.INSUFFICIENT_REFUNDED) == (
        S.INSUFFICIENT_NOT_REFUNDED,
        S.INSUFFICIENT_REFUNDED,
    )


@given(statuses, statuses)
def test_steps_are_chains_of_legal_moves(old: S, new: S) -> None:
    """Any path steps() returns is made of legal single steps and ends at the target."""
    path = steps(old, new)
    if path is None:
        assert judge(old, new) is Verdict.REFUSE
        assert old != new
        return
    previous = old
    for status in path:
        assert is_legal(previous, status)
        previous = status
    assert previous == new


@given(statuses, statuses)
def test_no_move_is_undone(old: S, new: S) -> None:
    """If old -> new is applicable (and not a duplicate), new -> old is refused."""
    if judge(old, new) is Verdict.APPLY:
        assert judge(new, old) is Verdict.REFUSE
