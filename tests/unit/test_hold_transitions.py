"""The hold lifecycle table in ``gamepay.core.holds``: legal moves, replays, refusals, effects."""

from __future__ import annotations

import pytest

from gamepay.core.holds import (
    OPEN,
    TRANSITIONS,
    HoldStatus,
    TransferPhase,
    check_resolution,
    effect,
    phase_transfer_id,
    status_of,
)
from gamepay.errors import HoldStateError

P, D, V = HoldStatus.PENDING, HoldStatus.POSTED, HoldStatus.VOIDED


def test_the_table_lists_exactly_post_and_void_of_a_pending_hold() -> None:
    """Only pending -> posted (a post transfer) and pending -> voided (a void transfer) exist."""
    assert {k: t.phase for k, t in TRANSITIONS.items()} == {
        (P, D): TransferPhase.POST,
        (P, V): TransferPhase.VOID,
    }
    assert (OPEN.source, OPEN.target, OPEN.phase) == (None, P, TransferPhase.PENDING)


def test_check_resolution_moves_replays_and_refuses() -> None:
    """Pending moves; a same-outcome request replays; anything else is HoldStateError."""
    assert check_resolution("h", P, 10, None, D, None).amount == 10
    assert check_resolution("h", P, 10, None, D, 4).amount == 4
    assert check_resolution("h", P, 10, None, V, None).amount == 10
    assert check_resolution("h", D, 10, 4, D, 4).replay
    assert check_resolution("h", D, 10, 10, D, None).replay
    assert check_resolution("h", V, 10, None, V, None).replay
    for status, posted, target, amount in (
        (D, 4, D, 5),
        (D, 4, D, None),
        (D, 4, V, None),
        (V, None, D, None),
        (P, None, D, 11),
    ):
        with pytest.raises(HoldStateError):
            check_resolution("h", status, 10, posted, target, amount)


def test_effects_keep_every_asset_summing_to_zero() -> None:
    """Each phase's (debit available, debit held, credit available) deltas, and their sums."""
    assert effect(TransferPhase.PENDING, 10, 10) == (-10, 10, 0)
    assert effect(TransferPhase.POST, 10, 4) == (6, -10, 4)
    assert effect(TransferPhase.VOID, 10, 10) == (10, -10, 0)
    assert sum(effect(TransferPhase.POST, 10, 4)) == 0


def test_status_and_ids_from_the_transfers() -> None:
    """A hold's status follows from its transfers' phases; each phase has its transfer id."""
    assert status_of(["pending"]) is P
    assert status_of(["pending", "post"]) is D
    assert status_of(["pending", "void"]) is V
    with pytest.raises(HoldStateError):
        status_of(["pending", "post", "void"])
    assert [phase_transfer_id("w:1", p) for p in TransferPhase] == [
        "hold:w:1/pending",
        "hold:w:1",
        "hold:w:1/void",
    ]
