"""The sandbox's pure parts: quotes, derived addresses and hashes, address checks, clock, faults."""

from __future__ import annotations

from fractions import Fraction

import base58
import pytest
from eth_utils.address import is_checksum_address
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from gamepay.sandbox import Faults, SandboxConfig, TokenConfig
from gamepay.sandbox.chain import (
    address_error,
    derive_address,
    derive_tx_hash,
    normalize_address,
    quote_units,
)
from gamepay.sandbox.clock import SandboxClock
from gamepay.sandbox.faults import FaultPlan

USDT = TokenConfig(symbol="USDT", address="0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9", decimals=6)


def test_quote_rounds_up_to_token_decimals() -> None:
    """300 TWD at 32.5 is 9.230769...: 9.230770 USDT, never less than the price."""
    assert quote_units(Fraction("300.0"), Fraction("32.5"), USDT) == 9_230_770
    assert quote_units(Fraction("32.5"), Fraction("32.5"), USDT) == 1_000_000


def test_quote_decimals_round_up_further() -> None:
    """quote_decimals=2 rounds 9.230770 up to 9.24."""
    coarse = USDT.model_copy(update={"quote_decimals": 2})
    assert quote_units(Fraction(300), Fraction("32.5"), coarse) == 9_240_000


@given(
    fiat=st.fractions(min_value=Fraction(1, 100), max_value=10**9, max_denominator=100),
    price=st.fractions(min_value=Fraction(1, 1000), max_value=10**6, max_denominator=1000),
    decimals=st.integers(0, 30),
)
def test_quote_is_the_least_sufficient_amount(
    fiat: Fraction, price: Fraction, decimals: int
) -> None:
    """The quote covers the fiat price, and one base unit less would not (unless it is 1)."""
    token = TokenConfig(symbol="T", address="0x" + "0" * 40, decimals=decimals)
    units = quote_units(fiat, price, token)
    worth = Fraction(units, 10**decimals) * price
    assert worth >= fiat
    if units > 1:
        assert Fraction(units - 1, 10**decimals) * price < fiat


@given(seed=st.integers(0, 2**48), label=st.text(max_size=20))
def test_derived_addresses_are_valid_for_their_family(seed: int, label: str) -> None:
    """Derived EVM addresses are EIP-55, Tron and Solana ones decode to the right bytes."""
    evm = derive_address("evm", seed, label)
    assert is_checksum_address(evm)
    assert address_error("evm", evm) is None
    assert address_error("tron", derive_address("tron", seed, label)) is None
    assert address_error("solana", derive_address("solana", seed, label)) is None
    assert derive_address("evm", seed, label) == evm


def test_tx_hash_forms_and_determinism() -> None:
    """EVM hashes are 0x+64 hex, Tron 64 hex, Solana 64-byte base58; same seed, same hash."""
    assert len(derive_tx_hash("evm", 1, "a")) == 66
    assert derive_tx_hash("evm", 1, "a") == derive_tx_hash("evm", 1, "a")
    assert derive_tx_hash("evm", 1, "a") != derive_tx_hash("evm", 2, "a")
    assert len(derive_tx_hash("tron", 1, "a")) == 64
    assert len(base58.b58decode(derive_tx_hash("solana", 1, "a"))) == 64


@pytest.mark.parametrize(
    ("family", "address", "ok"),
    [
        ("evm", "0x52908400098527886E0F7030069857D2E4169EE7", True),
        ("evm", "0x52908400098527886e0f7030069857d2e4169ee7", True),
        ("evm", "0x52908400098527886E0F7030069857D2E4169EE8", True),  # all upper hex digits
        ("evm", "0x52908400098527886e0F7030069857D2E4169EE7", False),  # bad checksum
        ("evm", "52908400098527886E0F7030069857D2E4169EE7", False),
        ("evm", "0x5290", False),
        ("evm", 123, False),
        ("tron", "TJCnKsPa7y5okkXvQAidZBzqx3QyQ6sxMW", True),
        ("tron", "TJCnKsPa7y5okkXvQAidZBzqx3QyQ6sxMX", False),  # checksum
        ("tron", "0x52908400098527886E0F7030069857D2E4169EE7", False),
        ("solana", "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM", True),
        ("solana", "TJCnKsPa7y5okkXvQAidZBzqx3QyQ6sxMW", False),
        ("solana", "0OIl", False),
    ],
)
def test_address_checks(family: str, address: object, ok: bool) -> None:
    """Each family accepts its own valid addresses and refuses the rest."""
    assert (address_error(family, address) is None) is ok  # type: ignore[arg-type]


def test_normalize_checksums_evm_only() -> None:
    """Lower-case EVM addresses come back checksummed; others unchanged."""
    lower = "0x52908400098527886e0f7030069857d2e4169ee7"
    assert normalize_address("evm", lower) == "0x52908400098527886E0F7030069857D2E4169EE7"
    assert normalize_address("tron", "TJCnKsPa7y5okkXvQAidZBzqx3QyQ6sxMW").startswith("T")


def test_clock_frozen_and_real() -> None:
    """A frozen clock moves only by advance; a real one follows the injected time."""
    now = [1000.0]
    frozen = SandboxClock(50, frozen=True, real=lambda: now[0])
    live = SandboxClock(50, real=lambda: now[0])
    now[0] += 30
    assert frozen.now() == 50
    assert live.now() == 80
    assert frozen.advance(10) == 60
    assert live.advance(10) == 90
    with pytest.raises(ValueError):
        frozen.advance(-1)


def test_config_refuses_unknown_tokens_and_float_prices() -> None:
    """A payment token that is not configured, or a non-decimal price, is refused."""
    with pytest.raises(ValidationError):
        SandboxConfig(payment_token="arb:DOGE")
    with pytest.raises(ValidationError):
        SandboxConfig(quotes={"USD": {"USDT": "1e3"}})
    with pytest.raises(ValidationError):
        SandboxConfig(quotes={"USD": {"USDT": "0"}})
    config = SandboxConfig(group_tokens={"gems": "arb:GPT"})
    chain, token = config.resolve_token("arb:0x4e107d9d509d8ae2010d4fb8f1a18efaa2e94637")
    assert (chain.chain_id, token.symbol, token.decimals) == ("arb", "GPT", 18)


def test_default_tokens_have_checksummed_addresses() -> None:
    """Every default EVM token address passes EIP-55."""
    for chain in SandboxConfig().chains:
        for token in chain.tokens:
            assert address_error(chain.family, token.address) is None


def test_fault_plan_replays_and_validates() -> None:
    """The same seed draws the same decisions whatever is asked; bad rates are refused."""
    faults = Faults(seed=5, drop_rate=0.5, duplicate_rate=0.5, delay=(0.0, 1.0), api_error_rate=0.3)
    first, second = FaultPlan(faults), FaultPlan(faults)
    assert [first.for_callback(str(i)) for i in range(20)] == [
        second.for_callback(str(i)) for i in range(20)
    ]
    assert [first.for_api("create") for _ in range(20)] == [
        second.for_api("create") for _ in range(20)
    ]
    with pytest.raises(ValidationError):
        Faults(drop_rate=1.5)
    with pytest.raises(ValidationError):
        Faults(delay=(2.0, 1.0))
    with pytest.raises(ValueError):
        first.arm("get", "hang")  # type: ignore[arg-type]
