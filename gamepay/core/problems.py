"""JSON files of one pydantic model, every problem one line naming the entry and the field.

The catalog file and the rewards file are both read by a ``JsonModelFile``: read the file,
decode the JSON, validate the model, and report each of pydantic's errors as
``item 'sword' (items[0]) field balance_price.amount: <message>`` (``validation_problems``,
pure), raised as the file's own error with one line per problem.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

__all__ = ["JsonModelFile", "Refusal", "validation_problems"]

M = TypeVar("M", bound=BaseModel)


class Refusal(Protocol):
    """Makes a file's error from its problem lines and where they come from (``CatalogError``)."""

    def __call__(self, problems: list[str], *, source: str) -> Exception:
        """The error to raise for ``problems`` found in ``source``."""
        ...


def _one_line(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True, slots=True)
class JsonModelFile(Generic[M]):
    """A JSON object holding a list of named entries (``entries``, each named by its ``key``),
    validated as ``model``; every problem is one line, raised through ``refuse``.

    ``noun`` names an entry in a problem, its name cut to ``cut`` characters; ``top`` names an
    error with no location; ``parse_float`` is handed to ``json.loads`` (None: floats).
    """

    model: type[M]
    refuse: Refusal
    entries: str
    key: str
    noun: str
    cut: int
    top: str
    parse_float: Callable[[str], object] | None = None

    def parse(self, data: str | bytes, *, source: str) -> M:
        """The model from JSON text; ``refuse`` with one line per problem, naming ``source``."""
        try:
            raw = json.loads(data, parse_float=self.parse_float)
        except (ValueError, UnicodeDecodeError) as exc:
            raise self.refuse([_one_line(f"not JSON: {exc}")], source=source) from None
        if not isinstance(raw, dict):
            article = "an" if self.entries[:1] in tuple("aeiou") else "a"
            shape = f"must be a JSON object with {article} {self.entries!r} list"
            raise self.refuse([shape], source=source)
        try:
            return self.model.model_validate(raw)
        except ValidationError as exc:
            problems = validation_problems(
                exc.errors(include_url=False),
                raw,
                entries=self.entries,
                key=self.key,
                noun=self.noun,
                cut=self.cut,
                top=self.top,
            )
            raise self.refuse([_one_line(p) for p in problems], source=source) from None

    def load(self, path: str | Path) -> M:
        """The model in the file at ``path``; ``refuse`` (naming the path) if it is unusable."""
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise self.refuse([f"cannot read it: {exc.strerror}"], source=str(path)) from None
        return self.parse(data, source=str(path))


def _where(
    loc: tuple[int | str, ...], raw: object, entries: str, key: str, noun: str, cut: int, top: str
) -> str:
    if len(loc) >= 2 and loc[0] == entries and isinstance(loc[1], int):
        index = loc[1]
        name = None
        if isinstance(raw, Mapping):
            found = raw.get(entries)
            if isinstance(found, list) and 0 <= index < len(found):
                entry = found[index]
                if isinstance(entry, Mapping) and isinstance(entry.get(key), str):
                    name = entry[key][:cut]
        label = (
            f"{noun} {name!r} ({entries}[{index}])" if name is not None else f"{entries}[{index}]"
        )
        rest = ".".join(str(part) for part in loc[2:])
        return f"{label} field {rest}" if rest else label
    return "field " + ".".join(str(part) for part in loc) if loc else top


def validation_problems(
    errors: Iterable[Mapping[str, Any]],
    raw: object,
    *,
    entries: str,
    key: str,
    noun: str,
    cut: int,
    top: str,
) -> list[str]:
    """``<where>: <message>`` for each of pydantic's ``errors`` (``exc.errors()``) on ``raw``.

    An error inside ``raw[entries][i]`` is placed as ``<noun> '<its key, cut to cut chars>'
    (<entries>[i]) field <rest>`` (or ``<entries>[i]`` when the entry has no such string), any
    other as ``field <loc>``, one with no location as ``top``; "Value error, " is dropped.
    """
    lines = []
    for error in errors:
        message = str(error["msg"]).removeprefix("Value error, ")
        where = _where(tuple(error["loc"]), raw, entries, key, noun, cut, top)
        lines.append(f"{where}: {message}")
    return lines
