"""WithdrawalsConfig: only on-chain tokens with address rules, positive limits, a real zone."""

from __future__ import annotations

import pytest

from gamepay.core.assets import Token
from gamepay.errors import ConfigError
from gamepay.withdrawals import WithdrawalsConfig

USDT = Token("arb", "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9", "USDT", 6)


def test_valid_config_is_frozen_copy() -> None:
    """A valid config copies its mappings, so later changes to the caller's dicts do not leak."""
    tokens = {USDT.id: USDT}
    limits = {USDT.id: 10}
    config = WithdrawalsConfig(tokens=tokens, daily_limit=limits, time_zone="Asia/Taipei")
    limits[USDT.id] = 99
    tokens.clear()
    assert config.daily_limit[USDT.id] == 10
    assert config.tokens[USDT.id] is USDT
    assert str(config.zone) == "Asia/Taipei"
    with pytest.raises(TypeError):
        config.daily_limit[USDT.id] = 5  # type: ignore[index]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"tokens": {"token:arb:0xother": USDT}},  # key is not the token's id
        {"tokens": {"currency:gold": "gold"}},  # not a Token
        {"tokens": {USDT.id: USDT}, "min_amount": {USDT.id: 0}},
        {"tokens": {USDT.id: USDT}, "daily_limit": {USDT.id: -1}},
        {"tokens": {USDT.id: USDT}, "daily_limit": {USDT.id: 1.5}},
        {"tokens": {USDT.id: USDT}, "daily_limit": {USDT.id: True}},
        {"tokens": {USDT.id: USDT}, "min_amount": {"token:eth:0xabc": 1}},
        {"tokens": {USDT.id: USDT}, "time_zone": "Mars/Olympus"},
    ],
)
def test_bad_config_refused(kwargs: dict[str, object]) -> None:
    """Every malformed configuration is a ConfigError at construction."""
    with pytest.raises(ConfigError):
        WithdrawalsConfig(**kwargs)  # type: ignore[arg-type]


def test_chain_without_address_rules_refused() -> None:
    """A token on a chain we cannot validate addresses for (btc) cannot be withdrawn."""
    btc = Token("btc", "native", "BTC", 8)
    with pytest.raises(ConfigError):
        WithdrawalsConfig(tokens={btc.id: btc})
