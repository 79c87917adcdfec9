"""The withdrawal service's configuration: withdrawable tokens, minimums, daily limits, zone."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gamepay.core.addresses import chain_family
from gamepay.core.assets import Token
from gamepay.errors import ConfigError, InvalidInput

__all__ = ["WithdrawalsConfig"]


@dataclass(frozen=True, slots=True)
class WithdrawalsConfig:
    """Which tokens can be withdrawn, their minimums and per-player daily limits.

    ``tokens`` maps asset id to ``Token`` (each key must be that token's ``id`` and its chain
    must have address rules). ``min_amount`` and ``daily_limit`` map asset id to base units; a
    token without a minimum accepts any positive amount, one without a daily limit has none.
    ``time_zone`` (an IANA name) decides where a day starts for the daily limit.
    """

    tokens: Mapping[str, Token]
    min_amount: Mapping[str, int] = field(default_factory=dict)
    daily_limit: Mapping[str, int] = field(default_factory=dict)
    time_zone: str = "UTC"

    def __post_init__(self) -> None:
        tokens = dict(self.tokens)
        for key, token in tokens.items():
            if not isinstance(token, Token):
                raise ConfigError(f"withdrawable assets must be on-chain Tokens: {key!r}")
            if key != token.id:
                raise ConfigError(f"token key {key!r} is not the token's id {token.id!r}")
            try:
                chain_family(token.chain_id)
            except InvalidInput as exc:
                raise ConfigError(f"{key}: {exc.message}") from None
        for name in ("min_amount", "daily_limit"):
            table = dict(getattr(self, name))
            for key, value in table.items():
                if key not in tokens:
                    raise ConfigError(f"{name} names an asset that is not a token: {key!r}")
                if type(value) is not int or value <= 0:
                    raise ConfigError(f"{name}[{key!r}] must be a positive int of base units")
            object.__setattr__(self, name, MappingProxyType(table))
        object.__setattr__(self, "tokens", MappingProxyType(tokens))
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise ConfigError(f"unknown time zone {self.time_zone!r}") from None

    @property
    def zone(self) -> ZoneInfo:
        """The time zone in which daily limits reset."""
        return ZoneInfo(self.time_zone)
