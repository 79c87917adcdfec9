"""Loyalty programs: what a player earns in a period, as exact integer rules.

A program is a pydantic model, built in code or loaded from a JSON or TOML file. Amounts are
ints of the program asset's base units (a file may also write them as digit strings, for values
TOML cannot hold); rates are integer basis points (1 bp = 1/10,000). No float is ever accepted.

The reward of one player for one period, from its activity in that period:

- ``net = max(0, purchases - refunds)``: purchases debited from the player in the program asset,
  minus refunds credited to the player in that asset, both inside ``[start, end)``;
- ``cashback = net * cashback_bps // 10_000`` (floored to base units);
- the spend tier with the highest ``min_net <= net`` (if any) adds
  ``tier.bonus + net * tier.rate_bps // 10_000`` (floored);
- ``active_bonus`` is added when the player was active (any purchase or deposit, in any asset);
- the sum is capped at ``cap`` (when set). Each term floors on its own, so the total never
  exceeds the exact rational reward, and it never pays a fraction of a base unit.

``payout = "ledger"`` credits the reward to the player's ledger balance; ``"onchain"`` (token
assets only) then also sends it to the player's wallet through the withdrawals service.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from gamepay.core.assets import asset_kind
from gamepay.core.money import MAX_AMOUNT
from gamepay.errors import AssetError, ConfigError
from gamepay.rewards.periods import Period, Schedule, check_timezone, period_starting

__all__ = [
    "BPS",
    "Activity",
    "Program",
    "Tier",
    "load_program",
    "reward_for",
]

BPS = 10_000
"""Basis points in one whole: ``rate_bps = 150`` is 1.5 %."""

_NAME = re.compile(r"[a-z0-9][a-z0-9_\-]{0,47}")
_MAX_BPS = 1_000_000  # up to 100x the net, enough for any promotion


def _units(value: object) -> int:
    """An int of base units in ``0 <= value < 2**256``, or a string of ASCII digits."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 80:
        value = int(value)
    if type(value) is not int:
        raise ValueError(f"must be an int of base units (or a digit string), not {value!r}")
    if not 0 <= value <= MAX_AMOUNT:
        raise ValueError("must satisfy 0 <= amount < 2**256")
    return value


def _bps(value: object) -> int:
    if type(value) is not int or not 0 <= value <= _MAX_BPS:
        raise ValueError(f"must be an int of basis points in 0..{_MAX_BPS}, not {value!r}")
    return value


Units = Annotated[int, BeforeValidator(_units)]
Bps = Annotated[int, BeforeValidator(_bps)]


class _Model(BaseModel):
    """Strict, frozen, no unknown keys; pydantic's ValidationError becomes ConfigError."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ConfigError(f"invalid {type(self).__name__}: {exc}") from exc


class Tier(_Model):
    """A spend tier: from ``min_net`` net purchases, a fixed ``bonus`` plus ``rate_bps``."""

    min_net: Units
    bonus: Units = 0
    rate_bps: Bps = 0

    @field_validator("min_net")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("a spend tier starts at a positive net amount")
        return value


class Program(_Model):
    """One loyalty program: schedule, asset, pool, and the rules (see the module docstring)."""

    name: str
    asset: str
    pool: str | None = None
    schedule: Schedule = Schedule.MONTHLY
    timezone: str = "UTC"
    week_start: int = Field(default=0, ge=0, le=6)
    start: date
    cashback_bps: Bps = 0
    tiers: tuple[Tier, ...] = ()
    active_bonus: Units = 0
    cap: Units | None = None
    payout: Literal["ledger", "onchain"] = "ledger"

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if _NAME.fullmatch(value) is None:
            raise ValueError("program name must be 1-48 of a-z, 0-9, '_', '-'")
        return value

    @field_validator("pool")
    @classmethod
    def _check_pool(cls, value: str | None) -> str | None:
        if value is not None and _NAME.fullmatch(value) is None:
            raise ValueError("pool name must be 1-48 of a-z, 0-9, '_', '-'")
        return value

    @field_validator("asset")
    @classmethod
    def _check_asset(cls, value: str) -> str:
        try:
            asset_kind(value)
        except AssetError as exc:
            raise ValueError(str(exc)) from exc
        return value

    @field_validator("timezone")
    @classmethod
    def _check_zone(cls, value: str) -> str:
        try:
            check_timezone(value)
        except ConfigError as exc:
            raise ValueError(exc.message) from exc
        return value

    @model_validator(mode="after")
    def _check_tiers(self) -> Program:
        thresholds = [tier.min_net for tier in self.tiers]
        if thresholds != sorted(set(thresholds)):
            raise ValueError("tiers must have strictly increasing min_net")
        if self.payout == "onchain" and asset_kind(self.asset) != "token":
            raise ValueError("on-chain payouts need an on-chain token asset (token:<chain>:...)")
        return self

    @property
    def pool_account(self) -> str:
        """The ledger account rewards are paid from: ``pool:<pool or name>``."""
        return f"pool:{self.pool or self.name}"

    @property
    def zone(self) -> ZoneInfo:
        """The program's time zone."""
        return check_timezone(self.timezone)

    def period(self, day: date) -> Period:
        """The period of this program that contains local date ``day``."""
        return period_starting(self.schedule, day, self.zone, self.week_start)

    def fingerprint(self) -> str:
        """A sha256 of the program's canonical JSON, recorded with each run."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    @classmethod
    def from_file(cls, path: str | Path) -> Program:
        """Load a program from a ``.json`` or ``.toml`` file."""
        return load_program(path)


def load_program(source: str | Path | dict[str, Any]) -> Program:
    """Build a program from a dict, or a ``.json``/``.toml`` file path; ConfigError if bad."""
    if isinstance(source, dict):
        return Program(**source)
    path = Path(source)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read program file {path}: {exc.strerror}") from exc
    try:
        if path.suffix == ".toml":
            data = tomllib.loads(raw.decode())
        elif path.suffix == ".json":
            data = json.loads(raw, parse_float=_no_float)
        else:
            raise ConfigError(f"program file must end in .json or .toml: {path}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"program file {path} is not valid: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"program file {path} must hold one object")
    return Program(**data)


def _no_float(text: str) -> Any:
    raise ValueError(f"floats are not allowed in a program: {text}")


@dataclass(frozen=True, slots=True)
class Activity:
    """A player's activity in one period, as summed by the ledger query."""

    player_id: str
    purchases: int = 0
    refunds: int = 0
    active: bool = False

    @property
    def net(self) -> int:
        """Net purchases, never below zero."""
        return max(0, self.purchases - self.refunds)


def reward_for(program: Program, activity: Activity) -> int:
    """The exact reward (base units, possibly 0) ``program`` pays for ``activity``."""
    net = activity.net
    total = net * program.cashback_bps // BPS
    tier = None
    for candidate in program.tiers:
        if candidate.min_net <= net:
            tier = candidate
    if tier is not None:
        total += tier.bonus + net * tier.rate_bps // BPS
    if activity.active:
        total += program.active_bonus
    if program.cap is not None:
        total = min(total, program.cap)
    return min(total, MAX_AMOUNT)
