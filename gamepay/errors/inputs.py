"""Bad input from a caller (``InvalidInput``): amounts, assets, accounts, addresses, config."""

from __future__ import annotations

from gamepay.errors.base import GamepayError

__all__ = [
    "AccountError",
    "AddressError",
    "AmountError",
    "AmountFormatError",
    "AmountPrecisionError",
    "AmountRangeError",
    "AmountTooSmall",
    "AmountTypeError",
    "AssetError",
    "CatalogError",
    "ConfigError",
    "InvalidInput",
]


class InvalidInput(GamepayError):
    """A caller passed a value gamepay refuses; nothing was changed."""

    code = "invalid_input"


class AmountError(InvalidInput):
    """An amount is not an exact integer of base units in range."""

    code = "invalid_amount"


class AmountTypeError(AmountError):
    """An amount has the wrong type (float, bool, or anything but an int or decimal string)."""

    code = "amount_type"


class AmountFormatError(AmountError):
    """A decimal string is not plain digits with an optional fraction."""

    code = "amount_format"


class AmountPrecisionError(AmountError):
    """A decimal string has more decimal places than the asset allows."""

    code = "amount_precision"


class AmountRangeError(AmountError):
    """An amount is not in 0 < amount < 2**256."""

    code = "amount_range"


class AmountTooSmall(AmountRangeError):
    """An amount below the smallest one KryptoGO accepts (a ``fiat_amount`` under 0.01)."""

    code = "amount_too_small"


class AssetError(InvalidInput):
    """An asset definition is malformed."""

    code = "invalid_asset"


class AccountError(InvalidInput):
    """An account id is malformed, or an account is asked for properties it may not have."""

    code = "invalid_account"


class AddressError(InvalidInput):
    """A wallet address is not valid for its chain."""

    code = "invalid_address"


class ConfigError(InvalidInput):
    """Configuration is missing or malformed."""

    code = "invalid_config"


class CatalogError(ConfigError):
    """A catalog that cannot be used; ``problems`` has one line per problem (naming the item
    and the field); the message is ``source: `` and the problems joined by ``; `` (one line)."""

    code = "invalid_catalog"

    def __init__(self, problems: list[str], *, source: str = "catalog") -> None:
        self.problems = list(problems)
        self.source = source
        super().__init__(f"{source}: " + "; ".join(self.problems))
