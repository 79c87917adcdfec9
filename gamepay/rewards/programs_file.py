"""The rewards file (``GAMEPAY_REWARDS_FILE``): the programs ``gamepay serve`` pays on schedule.

One JSON object with a ``programs`` list; each entry is a ``Program``
(``gamepay.rewards.programs``, the same fields as a program file). Format in
``docs/rewards.md``; ``rewards_schema()`` is its JSON Schema (draft 2020-12).
``load_rewards_file(path)`` raises ``RewardsFileError`` with one line per problem, each naming
the program and the field (``program 'vip' (programs[0]) field cap: ...``). Floats are refused;
names must be unique.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from gamepay.core.problems import JsonModelFile
from gamepay.errors import ConfigError
from gamepay.rewards.programs import Program, Tier

__all__ = [
    "REWARDS_SCHEMA_ID",
    "RewardsFile",
    "RewardsFileError",
    "load_rewards_file",
    "parse_rewards_file",
    "rewards_schema",
]

REWARDS_SCHEMA_ID = "https://gamepay.dev/schemas/rewards-1.json"
"""The ``$id`` of the rewards file's JSON Schema."""


class RewardsFileError(ConfigError):
    """A rewards file that cannot be used; ``problems`` has one line per problem (naming the
    program and the field), and the message is those lines, each prefixed by ``source``."""

    code = "invalid_rewards_file"

    def __init__(self, problems: list[str], *, source: str = "rewards file") -> None:
        self.problems = list(problems)
        self.source = source
        super().__init__("\n".join(f"{source}: {p}" for p in self.problems))


class _FileTier(Tier):
    """A ``Tier`` validated by pydantic alone, so each error keeps its location."""

    model_config = ConfigDict(title="Tier")
    __init__ = BaseModel.__init__


class _Entry(Program):
    """A ``Program`` validated by pydantic alone, so each error keeps its location."""

    model_config = ConfigDict(title="Program")
    __init__ = BaseModel.__init__

    tiers: tuple[_FileTier, ...] = ()


class RewardsFile(BaseModel):
    """The rewards file: ``{"programs": [Program, ...]}``, names unique."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    programs: tuple[_Entry, ...] = ()

    @model_validator(mode="after")
    def _unique_names(self) -> RewardsFile:
        seen: dict[str, int] = {}
        for index, program in enumerate(self.programs):
            if program.name in seen:
                raise ValueError(
                    f"program name {program.name!r} appears twice "
                    f"(programs[{seen[program.name]}] and programs[{index}])"
                )
            seen[program.name] = index
        return self

    def to_programs(self) -> tuple[Program, ...]:
        """The file's programs, as plain ``Program`` objects."""
        return tuple(Program(**entry.model_dump()) for entry in self.programs)


class _Float:
    """A JSON number with a fraction or exponent: no field accepts it, so its error keeps the
    program and the field (floats are never accepted)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"{self.text} (a float)"


_REWARDS_FILE = JsonModelFile(
    RewardsFile,
    RewardsFileError,
    entries="programs",
    key="name",
    noun="program",
    cut=48,
    top="programs",
    parse_float=_Float,
)


def parse_rewards_file(data: str | bytes, *, source: str = "rewards file") -> RewardsFile:
    """A rewards file from its JSON text; RewardsFileError with one line per problem."""
    return _REWARDS_FILE.parse(data, source=source)


def load_rewards_file(path: str | Path) -> tuple[Program, ...]:
    """The programs of the rewards file at ``path``; RewardsFileError (one line per problem)."""
    return _REWARDS_FILE.load(path).to_programs()


_UNITS_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "integer", "minimum": 0},
        {"type": "string", "pattern": "^[0-9]{1,80}$"},
    ],
    "description": "base units: an int, or a digit string for values beyond 64 bits",
}
_BPS_SCHEMA: dict[str, Any] = {
    "type": "integer",
    "minimum": 0,
    "maximum": 1_000_000,
    "description": "basis points (1 bp = 1/10,000)",
}
_NAME_SCHEMA: dict[str, Any] = {"type": "string", "pattern": "^[a-z0-9][a-z0-9_\\-]{0,47}$"}


def rewards_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the rewards file."""
    schema = RewardsFile.model_json_schema()
    schema["$defs"]["Program"] = schema["$defs"].pop("_Entry")
    schema["$defs"]["Tier"] = schema["$defs"].pop("_FileTier")
    schema["$defs"]["Program"]["properties"]["tiers"]["items"] = {"$ref": "#/$defs/Tier"}
    schema["$defs"]["Program"]["description"] = "One reward program (docs/rewards.md)."
    schema["$defs"]["Tier"]["description"] = "A spend tier: from min_net, bonus plus rate_bps."
    schema["properties"]["programs"]["items"] = {"$ref": "#/$defs/Program"}
    program = schema["$defs"]["Program"]["properties"]
    tier = schema["$defs"]["Tier"]["properties"]
    program["name"] = {**_NAME_SCHEMA, "title": "Name"}
    program["pool"] = {"anyOf": [_NAME_SCHEMA, {"type": "null"}], "default": None}
    for props, field in ((program, "active_bonus"), (tier, "min_net"), (tier, "bonus")):
        props[field] = {**_UNITS_SCHEMA, "default": props[field].get("default", 0)}
    program["cap"] = {"anyOf": [*_UNITS_SCHEMA["anyOf"], {"type": "null"}], "default": None}
    tier["min_net"].pop("default")
    for props, field in ((program, "cashback_bps"), (tier, "rate_bps")):
        props[field] = {**_BPS_SCHEMA, "default": 0}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": REWARDS_SCHEMA_ID,
        **schema,
    }
