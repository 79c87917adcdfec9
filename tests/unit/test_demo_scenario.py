"""The demo's player plan and its summary checks (pure parts, no I/O)."""

from __future__ import annotations

import json

import pytest
from eth_utils import is_checksum_address
from hypothesis import given
from hypothesis import strategies as st

from gamepay.demo import Behaviour, DemoSummary, plan_players

SKUS = ("sword", "shield", "gems-100")


@given(count=st.integers(min_value=0, max_value=60), seed=st.integers(0, 2**32))
def test_plan_is_deterministic_and_well_formed(count: int, seed: int) -> None:
    """Same seed, same crowd; unique ids and wallets; purchases name a catalog sku."""
    plans = plan_players(count, seed=seed, skus=SKUS)
    assert plans == plan_players(count, seed=seed, skus=SKUS)
    assert len(plans) == count
    assert len({p.player_id for p in plans}) == count
    assert len({p.wallet for p in plans}) == count
    for plan in plans:
        assert is_checksum_address(plan.wallet)
        assert plan.steps
        for step in plan.steps:
            if step.behaviour is Behaviour.TOP_UP:
                assert step.fiat is not None
            elif step.behaviour is not Behaviour.WITHDRAW:
                assert step.sku in SKUS
        behaviours = [s.behaviour for s in plan.steps]
        # Balance spending and withdrawals only ever come after a top-up.
        if Behaviour.BUY_WITH_BALANCE in behaviours or Behaviour.WITHDRAW in behaviours:
            assert behaviours[0] is Behaviour.TOP_UP


@given(count=st.integers(min_value=len(Behaviour), max_value=40), seed=st.integers(0, 2**32))
def test_every_behaviour_shows_up(count: int, seed: int) -> None:
    """With at least one player per behaviour, every behaviour appears (even in --quick)."""
    seen = {s.behaviour for p in plan_players(count, seed=seed, skus=SKUS) for s in p.steps}
    assert seen == set(Behaviour)


def test_bad_arguments_refused() -> None:
    """A negative count or an empty catalog is a ValueError."""
    with pytest.raises(ValueError, match="count"):
        plan_players(-1, seed=0, skus=SKUS)
    with pytest.raises(ValueError, match="sku"):
        plan_players(3, seed=0, skus=())


def test_summary_checks() -> None:
    """A summary passes only with a verified ledger, final orders and grants == paid."""
    good = DemoSummary(
        orders=3,
        orders_by_status={"success": 2, "expired": 1},
        paid=2,
        granted=2,
        ledger_verified=True,
    )
    assert good.ok
    data = json.loads(good.to_json())
    for key in ("orders", "paid", "granted", "withdrawals", "rewards_paid", "ledger_verified"):
        assert key in data
    assert data["ok"] is True
    assert not DemoSummary(ledger_verified=False).ok
    pending = DemoSummary(orders=1, orders_by_status={"pending": 1}, ledger_verified=True)
    assert pending.problems() == ["1 order(s) not in a final status"]
    short = DemoSummary(paid=2, granted=1, ledger_verified=True)
    assert short.problems() == ["granted 1 != paid 2"]
