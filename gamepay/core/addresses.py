"""Wallet addresses per chain: which family a chain belongs to, and strict validation.

KryptoGO keys chains as ``eth, arb, matic, bsc, kcc`` (EVM), ``tron`` and ``sol``. Each family
has its own address rules, checked strictly here (a loose ``is_address`` is not enough: it
accepts a wrong mixed-case checksum and a missing ``0x``):

- EVM: ``0x`` + 40 hex digits. All-lowercase (or all-uppercase) hex carries no checksum and is
  accepted; mixed case must pass the EIP-55 checksum. The canonical form is the checksummed one.
  The zero address is refused (tokens sent there are burnt).
- Tron: base58check whose payload is 21 bytes starting with ``0x41`` (``T...``, 34 characters).
- Solana: base58 that decodes to exactly 32 bytes.

``normalize_address(chain_id, text)`` returns the canonical form or raises ``AddressError``.
``checksum_evm_address`` is EIP-55 over ``eth_hash``'s keccak (eth-utils is not needed: it costs
half a second at import). Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import re
from enum import StrEnum
from typing import Final

import base58
from eth_hash.auto import keccak

from gamepay.errors import AddressError

__all__ = [
    "CHAIN_FAMILIES",
    "AddressFamily",
    "chain_family",
    "checksum_evm_address",
    "encode_solana_address",
    "encode_tron_address",
    "normalize_address",
    "normalize_evm_address",
    "normalize_solana_address",
    "normalize_tron_address",
]


class AddressFamily(StrEnum):
    """The address format a chain uses."""

    EVM = "evm"
    TRON = "tron"
    SOLANA = "solana"


CHAIN_FAMILIES: Final[dict[str, AddressFamily]] = {
    "eth": AddressFamily.EVM,
    "arb": AddressFamily.EVM,
    "matic": AddressFamily.EVM,
    "bsc": AddressFamily.EVM,
    "kcc": AddressFamily.EVM,
    "tron": AddressFamily.TRON,
    "sol": AddressFamily.SOLANA,
}
"""Every chain id gamepay can withdraw to, and its address family."""

_EVM: Final = re.compile(r"0x(?P<hex>[0-9a-fA-F]{40})")
_B58_ALPHABET: Final = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_TRON: Final = re.compile(f"T[{_B58_ALPHABET}]{{33}}")
_SOLANA: Final = re.compile(f"[{_B58_ALPHABET}]{{32,44}}")
_TRON_PREFIX: Final = 0x41
_EVM_ZERO: Final = "0" * 40


def _text(address: object) -> str:
    if not isinstance(address, str):
        raise AddressError(f"an address must be a string, not {type(address).__name__}")
    return address


def _shown(address: str) -> str:
    return repr(address[:64])


def chain_family(chain_id: object) -> AddressFamily:
    """Return the address family of ``chain_id``, or raise AddressError for an unknown chain."""
    if not isinstance(chain_id, str) or chain_id not in CHAIN_FAMILIES:
        raise AddressError(f"no withdrawal address rules for chain {chain_id!r}")
    return CHAIN_FAMILIES[chain_id]


def checksum_evm_address(address: str | bytes) -> str:
    """The EIP-55 checksummed form of ``0x`` + 40 hex digits (any case) or of 20 raw bytes."""
    if isinstance(address, bytes):
        if len(address) != 20:
            raise AddressError("an EVM address is 20 bytes")
        digits = address.hex()
    else:
        match = _EVM.fullmatch(address)
        if match is None:
            raise AddressError(f"not an EVM address (0x and 40 hex digits): {_shown(address)}")
        digits = match.group("hex").lower()
    digest = bytes(keccak(digits.encode("ascii"))).hex()
    cased = (c.upper() if int(h, 16) >= 8 else c for c, h in zip(digits, digest, strict=False))
    return "0x" + "".join(cased)


def normalize_evm_address(address: object) -> str:
    """Return the EIP-55 checksummed form of an EVM address, or raise AddressError.

    Requires ``0x`` and 40 hex digits; mixed case must be a correct checksum (never silently
    "fixed"); all-lowercase or all-uppercase hex is accepted as carrying no checksum.
    """
    text = _text(address)
    match = _EVM.fullmatch(text)
    if match is None:
        raise AddressError(f"not an EVM address (0x and 40 hex digits): {_shown(text)}")
    digits = match.group("hex")
    if digits.lower() == _EVM_ZERO:
        raise AddressError("the EVM zero address burns what it receives")
    checksummed = checksum_evm_address(text)
    mixed = digits != digits.lower() and digits != digits.upper()
    if mixed and text != checksummed:
        raise AddressError(f"EVM address fails its EIP-55 checksum: {_shown(text)}")
    return checksummed


def _double_sha256(payload: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(payload).digest()).digest()


def normalize_tron_address(address: object) -> str:
    """Return a Tron address unchanged if it is base58check of 21 bytes starting 0x41."""
    text = _text(address)
    if _TRON.fullmatch(text) is None:
        raise AddressError(f"not a Tron address (T + 33 base58 characters): {_shown(text)}")
    raw = base58.b58decode(text)
    payload, check = raw[:-4], raw[-4:]
    if len(payload) != 21 or payload[0] != _TRON_PREFIX:
        raise AddressError(f"Tron address does not decode to 0x41 + 20 bytes: {_shown(text)}")
    if _double_sha256(payload)[:4] != check:
        raise AddressError(f"Tron address fails its base58check checksum: {_shown(text)}")
    return text


def normalize_solana_address(address: object) -> str:
    """Return a Solana address unchanged if it is base58 decoding to exactly 32 bytes."""
    text = _text(address)
    if _SOLANA.fullmatch(text) is None:
        raise AddressError(f"not a Solana address (32-44 base58 characters): {_shown(text)}")
    raw = base58.b58decode(text)
    if len(raw) != 32:
        raise AddressError(f"Solana address decodes to {len(raw)} bytes, not 32: {_shown(text)}")
    return text


_NORMALIZERS: Final = {
    AddressFamily.EVM: normalize_evm_address,
    AddressFamily.TRON: normalize_tron_address,
    AddressFamily.SOLANA: normalize_solana_address,
}


def normalize_address(chain_id: object, address: object) -> str:
    """Return the canonical form of ``address`` on ``chain_id``, or raise AddressError."""
    return _NORMALIZERS[chain_family(chain_id)](address)


def encode_tron_address(body: bytes) -> str:
    """Return the Tron address of a 20-byte account body (base58check of 0x41 + body)."""
    if len(body) != 20:
        raise AddressError("a Tron account body is 20 bytes")
    payload = bytes([_TRON_PREFIX]) + body
    encoded: bytes = base58.b58encode(payload + _double_sha256(payload)[:4])
    return encoded.decode("ascii")


def encode_solana_address(key: bytes) -> str:
    """Return the Solana address (base58) of a 32-byte public key."""
    if len(key) != 32:
        raise AddressError("a Solana public key is 32 bytes")
    encoded: bytes = base58.b58encode(key)
    return encoded.decode("ascii")
