"""Checks of the KryptoGO client's arguments, run before anything is sent.

Each returns the value it accepts or raises a typed ``gamepay.errors.InvalidInput``. The fiat
amount rule (a plain decimal string, at least ``wire.MIN_FIAT_AMOUNT``) lives here so that every
caller that takes a fiat amount can apply the service's minimum before calling it.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

from gamepay.errors import (
    AmountFormatError,
    AmountRangeError,
    AmountTooSmall,
    AmountTypeError,
    InvalidInput,
)
from gamepay.kryptogo import wire

__all__ = ["check_fiat_amount", "check_text", "check_unix"]

_FIAT = re.compile(r"[0-9]{1,30}(\.[0-9]{1,18})?")


def check_text(name: str, value: object, *, max_length: int = 1000) -> str:
    """Return ``value`` if it is a non-empty str of at most ``max_length``, else InvalidInput."""
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise InvalidInput(f"{name} must be a non-empty string of at most {max_length} characters")
    return value


def check_fiat_amount(value: object) -> str:
    """A fiat amount is a plain decimal string such as ``"300.0"``, at least 0.01; never a float.

    ``AmountTypeError`` for a non-string, ``AmountFormatError`` for anything but digits with an
    optional fraction, ``AmountRangeError`` for zero, ``AmountTooSmall`` under the minimum.
    """
    if not isinstance(value, str):
        raise AmountTypeError(
            f"fiat_amount must be a decimal string like '300.0', not {type(value).__name__}"
        )
    if not value.isascii() or _FIAT.fullmatch(value) is None:
        raise AmountFormatError(f"fiat_amount is not a plain decimal string: {value[:40]!r}")
    if not value.strip("0."):
        raise AmountRangeError("fiat_amount must be greater than zero")
    if Decimal(value) < Decimal(wire.MIN_FIAT_AMOUNT):  # exact: the text matched _FIAT
        raise AmountTooSmall(
            f"fiat_amount must be at least {wire.MIN_FIAT_AMOUNT} (KryptoGO refuses less), "
            f"not {value!r}"
        )
    return value


def check_unix(name: str, value: object) -> int | None:
    """A time filter is None, an int of unix seconds, or an aware datetime."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidInput(f"{name} must be timezone-aware")
        return int(value.timestamp())
    if type(value) is not int or value < 0:
        raise InvalidInput(f"{name} must be unix seconds (int >= 0) or an aware datetime")
    return value
