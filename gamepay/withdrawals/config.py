"""The withdrawal service's configuration: withdrawable tokens, minimums, daily limits, zone."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gamepay.core.accounts import player_account
from gamepay.core.addresses import chain_family, normalize_address
from gamepay.core.assets import Token
from gamepay.core.money import check_amount
from gamepay.errors import AssetError, BelowMinimum, ConfigError, InvalidInput

_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,200}")

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

    def check_request(
        self,
        player_id: object,
        asset_id: object,
        amount: object,
        address: object,
        request_id: object,
    ) -> tuple[Token, str]:
        """The token and normalized address of a withdrawal request, or the typed refusal."""
        check_amount(amount)
        if not isinstance(player_id, str):
            raise InvalidInput("player_id must be a string")
        player_account(player_id)
        if not isinstance(request_id, str) or _REQUEST_ID.fullmatch(request_id) is None:
            raise InvalidInput("request_id must be 1-200 printable ASCII characters, no spaces")
        token = self.tokens.get(asset_id) if isinstance(asset_id, str) else None
        if token is None:
            raise AssetError(f"not a withdrawable on-chain token: {str(asset_id)[:80]!r}")
        normalized = normalize_address(token.chain_id, address)
        minimum = self.min_amount.get(token.id)
        assert isinstance(amount, int)
        if minimum is not None and amount < minimum:
            raise BelowMinimum(f"withdrawals of {token.symbol} start at {minimum} base units")
        return token, normalized
