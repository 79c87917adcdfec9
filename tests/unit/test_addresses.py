"""Address validation per chain family: EVM (EIP-55), Tron (base58check), Solana (base58)."""

from __future__ import annotations

import pytest

from gamepay.core.addresses import (
    CHAIN_FAMILIES,
    AddressFamily,
    chain_family,
    encode_solana_address,
    encode_tron_address,
    normalize_address,
    normalize_evm_address,
    normalize_solana_address,
    normalize_tron_address,
)
from gamepay.errors import AddressError, InvalidInput

EVM = "0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045"
TRON = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
SOLANA = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"


def test_chain_families_cover_kryptogo_chains() -> None:
    """Every KryptoGO transfer chain maps to its family; btc and unknown chains are refused."""
    assert {c for c, f in CHAIN_FAMILIES.items() if f is AddressFamily.EVM} == {
        "eth",
        "arb",
        "matic",
        "bsc",
        "kcc",
    }
    assert chain_family("tron") is AddressFamily.TRON
    assert chain_family("sol") is AddressFamily.SOLANA
    for bad in ("btc", "ARB", "", None, 1):
        with pytest.raises(AddressError):
            chain_family(bad)


@pytest.mark.parametrize("chain", ["eth", "arb", "matic", "bsc", "kcc"])
def test_evm_checksummed_accepted_on_every_evm_chain(chain: str) -> None:
    """A correct EIP-55 address is accepted unchanged on each EVM chain."""
    assert normalize_address(chain, EVM) == EVM


def test_evm_lowercase_accepted_and_stored_checksummed() -> None:
    """All-lowercase carries no checksum: accepted, returned in checksummed form."""
    assert normalize_evm_address(EVM.lower()) == EVM
    assert normalize_evm_address("0x" + EVM[2:].upper()) == EVM


def test_evm_wrong_checksum_refused() -> None:
    """Flipping the case of one letter breaks the EIP-55 checksum and is refused, not fixed."""
    i = next(i for i, c in enumerate(EVM) if i > 1 and c.isalpha())
    flipped = EVM[:i] + EVM[i].swapcase() + EVM[i + 1 :]
    with pytest.raises(AddressError, match="checksum"):
        normalize_evm_address(flipped)


@pytest.mark.parametrize(
    "bad",
    [
        EVM[2:],  # missing 0x
        "0X" + EVM[2:],  # upper-case prefix
        EVM[:-1],  # 39 hex digits
        EVM + "0",  # 41 hex digits
        EVM[:-1] + "g",  # not hex
        " " + EVM,
        EVM + "\n",
        "0x" + "0" * 40,  # zero address burns
        "",
    ],
)
def test_evm_malformed_refused(bad: str) -> None:
    """Anything but 0x + 40 hex digits (or the zero address) is refused."""
    with pytest.raises(AddressError):
        normalize_address("arb", bad)


@pytest.mark.parametrize("bad", [None, 123, b"0xd8da6bf26964af9d7eed9e03e53415d37aa96045"])
def test_non_string_refused(bad: object) -> None:
    """Addresses must be str: bytes and other types are refused with a typed error."""
    for chain in ("eth", "tron", "sol"):
        with pytest.raises(AddressError):
            normalize_address(chain, bad)


def test_address_error_is_invalid_input() -> None:
    """AddressError sits under InvalidInput so callers can catch bad input as one branch."""
    assert issubclass(AddressError, InvalidInput)


def test_tron_valid_accepted() -> None:
    """The USDT-on-Tron contract address is valid base58check with the 0x41 prefix."""
    assert normalize_tron_address(TRON) == TRON
    assert normalize_address("tron", TRON) == TRON


def test_tron_wrong_checksum_refused() -> None:
    """Changing one character keeps the shape but breaks the base58check checksum."""
    bad = TRON[:-1] + ("u" if TRON[-1] != "u" else "v")
    with pytest.raises(AddressError, match="checksum"):
        normalize_tron_address(bad)


def test_tron_wrong_prefix_and_shape_refused() -> None:
    """A valid base58check payload without 0x41, an EVM address or a bad length is refused."""
    import base58

    not_tron = base58.b58encode_check(bytes([0x42]) + b"\x01" * 20).decode()
    for bad in (not_tron, EVM, TRON[:-1], TRON + "1", "t" + TRON[1:], TRON.replace("R", "0")):
        with pytest.raises(AddressError):
            normalize_tron_address(bad)


def test_solana_valid_accepted() -> None:
    """Real Solana keys (USDC mint, wrapped SOL) decode to 32 bytes and are accepted."""
    assert normalize_solana_address(SOLANA) == SOLANA
    wsol = "So11111111111111111111111111111111111111112"
    assert normalize_address("sol", wsol) == wsol


@pytest.mark.parametrize("size", [0, 1, 31, 33, 64])
def test_solana_wrong_length_refused(size: int) -> None:
    """Base58 decoding to anything but 32 bytes is refused."""
    import base58

    text = base58.b58encode(b"\x07" * size).decode()
    with pytest.raises(AddressError):
        normalize_solana_address(text)


@pytest.mark.parametrize("bad", [SOLANA[:-1] + "0", SOLANA[:-1] + "l", SOLANA + " ", EVM])
def test_solana_bad_alphabet_refused(bad: str) -> None:
    """Characters outside the base58 alphabet (0, O, I, l, space, x) are refused."""
    with pytest.raises(AddressError):
        normalize_solana_address(bad)


def test_families_do_not_cross() -> None:
    """An address of one family is refused on a chain of another."""
    with pytest.raises(AddressError):
        normalize_address("eth", TRON)
    with pytest.raises(AddressError):
        normalize_address("tron", SOLANA)
    with pytest.raises(AddressError):
        normalize_address("sol", TRON)


def test_encoders_check_lengths() -> None:
    """The encoders used by tests and tools refuse wrong key lengths."""
    with pytest.raises(AddressError):
        encode_tron_address(b"\x00" * 21)
    with pytest.raises(AddressError):
        encode_solana_address(b"\x00" * 31)
    assert normalize_tron_address(encode_tron_address(b"\x00" * 20)).startswith("T")
