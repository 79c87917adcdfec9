"""The withdrawal transition table: every legal move, and everything else refused."""

from __future__ import annotations

from datetime import UTC, date, datetime
from itertools import product
from zoneinfo import ZoneInfo

import pytest

from gamepay.core.withdrawals import (
    COUNTS_TOWARD_LIMIT,
    HOLD_OPEN,
    TERMINAL,
    TRANSITIONS,
    HoldEffect,
    WithdrawalStatus,
    check_transition,
    hold_id_for,
    limit_day,
)
from gamepay.errors import IllegalTransition

S = WithdrawalStatus
LEGAL = {
    (S.REQUESTED, S.HELD): HoldEffect.HOLD,
    (S.HELD, S.SENDING): HoldEffect.NONE,
    (S.HELD, S.FAILED): HoldEffect.VOID,
    (S.SENDING, S.SENT): HoldEffect.POST,
    (S.SENDING, S.FAILED): HoldEffect.VOID,
    (S.SENDING, S.UNKNOWN): HoldEffect.NONE,
    (S.UNKNOWN, S.SENT): HoldEffect.POST,
    (S.UNKNOWN, S.FAILED): HoldEffect.VOID,
}


def test_table_is_exactly_the_documented_lifecycle() -> None:
    """The table holds exactly the moves of the lifecycle, each with its hold effect."""
    assert {k: t.effect for k, t in TRANSITIONS.items()} == LEGAL


@pytest.mark.parametrize(("source", "target"), list(product(S, S)))
def test_every_pair_is_legal_or_refused(source: S, target: S) -> None:
    """check_transition returns the table entry for legal pairs and raises for all others."""
    if (source, target) in LEGAL:
        assert check_transition(source, target).effect is LEGAL[(source, target)]
    else:
        with pytest.raises(IllegalTransition):
            check_transition(source, target)


def test_sending_is_never_re_entered() -> None:
    """Nothing leads back to held or sending from a later state: no second transfer call."""
    into_sending = {s for (s, t) in TRANSITIONS if t is S.SENDING}
    assert into_sending == {S.HELD}
    assert not any(t is S.HELD and s is not S.REQUESTED for (s, t) in TRANSITIONS)


def test_terminal_states_have_no_exit_and_failed_means_voided() -> None:
    """sent and failed are terminal; every way into failed voids, every way into sent posts."""
    assert {S.SENT, S.FAILED} == TERMINAL
    assert not any(s in TERMINAL for (s, _t) in TRANSITIONS)
    for (_s, t), tr in TRANSITIONS.items():
        if t is S.FAILED:
            assert tr.effect is HoldEffect.VOID
        if t is S.SENT:
            assert tr.effect is HoldEffect.POST


def test_status_sets() -> None:
    """Open holds are held/sending/unknown; the limit also counts sent, never failed."""
    assert {S.HELD, S.SENDING, S.UNKNOWN} == HOLD_OPEN
    assert HOLD_OPEN | {S.SENT} == COUNTS_TOWARD_LIMIT


def test_strings_accepted_and_garbage_refused() -> None:
    """Plain strings work (as read from the database); unknown names are IllegalTransition."""
    assert check_transition("unknown", "sent").target is S.SENT
    with pytest.raises(IllegalTransition):
        check_transition("sending", "paid")


def test_hold_id_is_stable() -> None:
    """The hold id is derived from the withdrawal id alone."""
    assert hold_id_for("wd_1") == hold_id_for("wd_1") == "withdrawal:wd_1"


def test_limit_day_uses_the_zone() -> None:
    """23:30 UTC is already the next day in Taipei; naive datetimes are refused."""
    at = datetime(2026, 1, 1, 23, 30, tzinfo=UTC)
    assert limit_day(at, UTC) == date(2026, 1, 1)
    assert limit_day(at, ZoneInfo("Asia/Taipei")) == date(2026, 1, 2)
    with pytest.raises(ValueError, match="aware"):
        limit_day(datetime(2026, 1, 1), UTC)
