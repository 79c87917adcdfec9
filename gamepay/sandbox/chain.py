"""The simulated chain, pure: quotes, deterministic addresses and tx hashes, address checks.

Nothing here reads a clock or draws randomness: every address and hash is a hash of the
sandbox seed and a label, so the same seed replays the same ids.
"""

from __future__ import annotations

import hashlib
import re
from fractions import Fraction

import base58

from gamepay.core.addresses import checksum_evm_address
from gamepay.sandbox.config import ChainFamily, TokenConfig

__all__ = [
    "address_error",
    "derive_address",
    "derive_hex",
    "derive_tx_hash",
    "normalize_address",
    "quote_units",
]

_HEX40 = re.compile(r"0x[0-9a-fA-F]{40}")


def derive_hex(seed: int, label: str) -> str:
    """Return 64 hex characters derived from the seed and a label (sha256)."""
    return hashlib.sha256(f"gamepay-sandbox:{seed}:{label}".encode()).hexdigest()


def derive_address(family: ChainFamily, seed: int, label: str) -> str:
    """A valid address of the family, derived from the seed and a label.

    EVM: EIP-55 checksummed; Tron: base58check of ``0x41`` + 20 bytes; Solana: base58 of 32 bytes.
    """
    digest = bytes.fromhex(derive_hex(seed, label))
    if family == "evm":
        return checksum_evm_address(digest[-20:])
    if family == "tron":
        return str(base58.b58encode_check(b"\x41" + digest[-20:]).decode())
    return str(base58.b58encode(digest).decode())


def derive_tx_hash(family: ChainFamily, seed: int, label: str) -> str:
    """A transaction hash in the family's usual form, derived from the seed and a label.

    EVM: ``0x`` + 64 hex; Tron: 64 hex; Solana: base58 of a 64-byte signature.
    """
    if family == "evm":
        return "0x" + derive_hex(seed, label)
    if family == "tron":
        return derive_hex(seed, label)
    signature = bytes.fromhex(derive_hex(seed, label) + derive_hex(seed, label + ":2"))
    return str(base58.b58encode(signature).decode())


def address_error(family: ChainFamily, address: object) -> str | None:
    """Return why ``address`` is not a valid address of the family, or None when it is.

    EVM: ``0x`` + 40 hex, and a mixed-case address must pass the EIP-55 checksum. Tron: base58check
    decoding to 21 bytes starting with 0x41. Solana: base58 decoding to 32 bytes.
    """
    if not isinstance(address, str):
        return "address must be a string"
    if family == "evm":
        if _HEX40.fullmatch(address) is None:
            return "EVM address must be 0x followed by 40 hex digits"
        body = address[2:]
        mixed = body != body.lower() and body != body.upper()
        if mixed and address != checksum_evm_address(address):
            return "EVM address fails its EIP-55 checksum"
        return None
    try:
        if family == "tron":
            raw = base58.b58decode_check(address)
            if len(raw) != 21 or raw[0] != 0x41:
                return "Tron address must decode to 21 bytes starting with 0x41"
            return None
        raw = base58.b58decode(address)
    except ValueError:
        return f"not a valid base58 {family} address"
    if len(raw) != 32:
        return "Solana address must decode to 32 bytes"
    return None


def normalize_address(family: ChainFamily, address: str) -> str:
    """The canonical form of a valid address: EIP-55 checksummed on EVM, unchanged otherwise."""
    if family == "evm":
        return checksum_evm_address(address)
    return address


def quote_units(fiat_amount: Fraction, price: Fraction, token: TokenConfig) -> int:
    """Base units of ``token`` worth ``fiat_amount`` at ``price`` fiat per token, rounded UP.

    Exact: ``ceil(fiat / price * 10**decimals)``; then rounded up again to ``quote_decimals``
    places when the token sets fewer than its decimals. Always at least one base unit.
    """
    scale: int = 10**token.decimals
    exact: Fraction = fiat_amount / price * scale
    units: int = -((-exact.numerator) // exact.denominator)
    if token.quote_decimals is not None and token.quote_decimals < token.decimals:
        step: int = 10 ** (token.decimals - token.quote_decimals)
        units = -((-units) // step) * step
    return max(units, 1)
