"""The error tree drawn in ``gamepay.errors``' docstring names every error gamepay defines."""

from __future__ import annotations

import importlib
import pkgutil
import re

import gamepay
import gamepay.errors
from gamepay.errors import GamepayError


def _all_subclasses(cls: type) -> set[type]:
    """Every class below ``cls``, however deep."""
    found: set[type] = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _all_subclasses(sub)
    return found


def test_every_gamepay_error_is_in_the_drawing() -> None:
    """Import every gamepay module (but Alembic's scripts), then each GamepayError subclass
    defined is drawn, once."""
    for module in pkgutil.walk_packages(gamepay.__path__, "gamepay."):
        if not module.name.startswith("gamepay.store.migrations"):
            importlib.import_module(module.name)
    drawn = re.findall(r"[├└]── (\w+)", gamepay.errors.__doc__ or "")
    ours = {
        c
        for c in _all_subclasses(GamepayError)
        if c.__module__.startswith("gamepay.") and not c.__name__.startswith("_")
    }
    missing = sorted(c.__name__ for c in ours if c.__name__ not in drawn)
    assert missing == []
    assert len(drawn) == len(set(drawn)), "a class is drawn twice"
