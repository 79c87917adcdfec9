"""One line per validation error of a JSON file, naming the entry and the field (pure).

The catalog file and the rewards file both report pydantic's errors this way:
``item 'sword' (items[0]) field balance_price.amount: <message>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["validation_problems"]


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
