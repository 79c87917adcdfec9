"""Property tests: encoded addresses round-trip; a mutated address is refused."""

from __future__ import annotations

import base58
import pytest
from eth_utils import to_checksum_address
from hypothesis import assume, given
from hypothesis import strategies as st

from gamepay.core.addresses import (
    checksum_evm_address,
    encode_solana_address,
    encode_tron_address,
    normalize_evm_address,
    normalize_solana_address,
    normalize_tron_address,
)
from gamepay.errors import AddressError

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
nonzero20 = st.binary(min_size=20, max_size=20).filter(lambda b: any(b))


@given(st.binary(min_size=20, max_size=20), st.booleans())
def test_our_eip55_matches_eth_utils(body: bytes, upper: bool) -> None:
    """Our keccak EIP-55 (no eth-utils at run time) agrees with eth-utils on any address."""
    digits = body.hex().upper() if upper else body.hex()
    expected = to_checksum_address("0x" + body.hex())
    assert checksum_evm_address(body) == expected
    assert checksum_evm_address("0x" + digits) == expected


@given(nonzero20)
def test_evm_round_trip(body: bytes) -> None:
    """Any 20 bytes: the checksummed form is accepted unchanged, lowercase normalizes to it."""
    checksummed = to_checksum_address("0x" + body.hex())
    assert normalize_evm_address(checksummed) == checksummed
    assert normalize_evm_address(checksummed.lower()) == checksummed


@given(nonzero20, st.data())
def test_evm_case_mutation_refused(body: bytes, data: st.DataObject) -> None:
    """Swapping the case of any letter of a mixed-case checksummed address is refused."""
    checksummed = to_checksum_address("0x" + body.hex())
    letters = [i for i, c in enumerate(checksummed) if i > 1 and c.isalpha()]
    assume(letters)
    i = data.draw(st.sampled_from(letters))
    mutated = checksummed[:i] + checksummed[i].swapcase() + checksummed[i + 1 :]
    digits = mutated[2:]
    assume(digits != digits.lower() and digits != digits.upper())
    with pytest.raises(AddressError):
        normalize_evm_address(mutated)


@given(st.binary(min_size=20, max_size=20))
def test_tron_round_trip(body: bytes) -> None:
    """Any 20-byte account body encodes to a Tron address that validates and decodes back."""
    address = encode_tron_address(body)
    assert len(address) == 34
    assert normalize_tron_address(address) == address
    assert base58.b58decode_check(address) == bytes([0x41]) + body


@given(st.binary(min_size=20, max_size=20), st.data())
def test_tron_mutation_refused(body: bytes, data: st.DataObject) -> None:
    """Replacing any one character of a Tron address with another is refused."""
    address = encode_tron_address(body)
    i = data.draw(st.integers(1, len(address) - 1))
    char = data.draw(st.sampled_from(_B58).filter(lambda c: c != address[i]))
    with pytest.raises(AddressError):
        normalize_tron_address(address[:i] + char + address[i + 1 :])


@given(st.binary(min_size=32, max_size=32))
def test_solana_round_trip(key: bytes) -> None:
    """Any 32-byte key encodes to a Solana address that validates and decodes back."""
    address = encode_solana_address(key)
    assert normalize_solana_address(address) == address
    assert base58.b58decode(address) == key


@given(st.binary(max_size=48).filter(lambda b: len(b) != 32))
def test_solana_other_lengths_refused(raw: bytes) -> None:
    """Base58 of anything but 32 bytes is refused."""
    with pytest.raises(AddressError):
        normalize_solana_address(base58.b58encode(raw).decode())
