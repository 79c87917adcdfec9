"""Loyalty programs: validation, loading from files, and the exact reward rules."""

from __future__ import annotations

import json
from datetime import date
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gamepay.core.money import MAX_AMOUNT
from gamepay.errors import ConfigError
from gamepay.rewards.programs import Activity, Program, Tier, load_program, reward_for

BASE = {"name": "loyal", "asset": "currency:gold", "start": "2026-11-01"}


def test_defaults_and_pool_account() -> None:
    """A minimal program is monthly in UTC, paid from pool:<name> unless a pool is named."""
    program = Program(**BASE)
    assert program.schedule == "monthly"
    assert program.pool_account == "pool:loyal"
    assert Program(**BASE, pool="main").pool_account == "pool:main"
    assert program.start == date(2026, 11, 1)


@pytest.mark.parametrize(
    "bad",
    [
        {"cashback_bps": 1.5},
        {"cashback_bps": True},
        {"active_bonus": 2.0},
        {"active_bonus": "-3"},
        {"cap": 2**256},
        {"timezone": "Mars/Base"},
        {"asset": "gold"},
        {"name": "Loyal Program"},
        {"tiers": [{"min_net": 100}, {"min_net": 100}]},
        {"tiers": [{"min_net": 200}, {"min_net": 100}]},
        {"tiers": [{"min_net": 0}]},
        {"surprise": 1},
        {"payout": "onchain"},
    ],
)
def test_bad_programs_are_config_errors(bad: dict[str, object]) -> None:
    """Floats, bools, negative or oversized amounts, bad zones and unsorted tiers: ConfigError."""
    with pytest.raises(ConfigError):
        Program(**{**BASE, **bad})


def test_digit_strings_hold_amounts_toml_cannot() -> None:
    """A file may write amounts above 2**63 as digit strings."""
    program = Program(**BASE, cap=str(2**200), tiers=[{"min_net": "5", "bonus": "7"}])
    assert program.cap == 2**200
    assert program.tiers == (Tier(min_net=5, bonus=7),)


def test_load_json_and_toml(tmp_path: Path) -> None:
    """The same program loads from JSON and TOML; floats in JSON are refused."""
    data = {**BASE, "cashback_bps": 150, "tiers": [{"min_net": 1000, "rate_bps": 50}]}
    (tmp_path / "p.json").write_text(json.dumps(data))
    (tmp_path / "p.toml").write_text(
        'name = "loyal"\nasset = "currency:gold"\nstart = 2026-11-01\ncashback_bps = 150\n'
        "[[tiers]]\nmin_net = 1000\nrate_bps = 50\n"
    )
    assert load_program(tmp_path / "p.json") == load_program(tmp_path / "p.toml")
    (tmp_path / "f.json").write_text('{"name": "x", "asset": "currency:g", "cashback_bps": 1.0}')
    with pytest.raises(ConfigError):
        load_program(tmp_path / "f.json")
    with pytest.raises(ConfigError):
        load_program(tmp_path / "missing.toml")
    (tmp_path / "p.yaml").write_text("name: x")
    with pytest.raises(ConfigError):
        load_program(tmp_path / "p.yaml")


def test_worked_example() -> None:
    """1.5 % cashback on 12,345 net, tier 10,000 (+100, +0.5 %), +25 active bonus, cap 400."""
    program = Program(
        **BASE,
        cashback_bps=150,
        tiers=[{"min_net": 1_000, "bonus": 10}, {"min_net": 10_000, "bonus": 100, "rate_bps": 50}],
        active_bonus=25,
    )
    activity = Activity("p", purchases=13_000, refunds=655, active=True)
    # 12345 * 150 // 10000 = 185; tier: 100 + 12345 * 50 // 10000 = 161; +25
    assert reward_for(program, activity) == 185 + 161 + 25
    capped = program.model_copy(update={"cap": 300})
    assert reward_for(capped, activity) == 300
    assert reward_for(program, Activity("p", purchases=5, refunds=9, active=False)) == 0
    assert reward_for(program, Activity("p", active=True)) == 25


def test_fingerprint_changes_with_the_rules() -> None:
    """The fingerprint recorded with a run changes when the rules change."""
    assert Program(**BASE).fingerprint() == Program(**BASE).fingerprint()
    assert Program(**BASE).fingerprint() != Program(**BASE, cashback_bps=1).fingerprint()


tiers = st.lists(
    st.tuples(st.integers(1, 10**6), st.integers(0, 10**4), st.integers(0, 20_000)),
    max_size=4,
    unique_by=lambda t: t[0],
).map(lambda ts: sorted(ts))


@given(
    purchases=st.integers(0, 10**30),
    refunds=st.integers(0, 10**30),
    active=st.booleans(),
    cashback=st.integers(0, 1_000_000),
    tier_list=tiers,
    bonus=st.integers(0, 10**6),
    cap=st.none() | st.integers(0, 10**9),
)
def test_reward_equals_the_exact_rules(
    purchases: int,
    refunds: int,
    active: bool,
    cashback: int,
    tier_list: list[tuple[int, int, int]],
    bonus: int,
    cap: int | None,
) -> None:
    """reward_for equals the rules written with exact fractions, floored term by term."""
    program = Program(
        **BASE,
        cashback_bps=cashback,
        tiers=[{"min_net": t, "bonus": b, "rate_bps": r} for t, b, r in tier_list],
        active_bonus=bonus,
        cap=cap,
    )
    got = reward_for(program, Activity("p", purchases, refunds, active))
    net = purchases - refunds if purchases > refunds else 0
    want = int(Fraction(net) * Fraction(cashback, 10_000))
    reached = [t for t in tier_list if t[0] <= net]
    if reached:
        _, tier_bonus, rate = reached[-1]
        want += tier_bonus + int(Fraction(net) * Fraction(rate, 10_000))
    if active:
        want += bonus
    if cap is not None and want > cap:
        want = cap
    assert got == want
    assert 0 <= got <= MAX_AMOUNT
