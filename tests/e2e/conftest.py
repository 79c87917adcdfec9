"""End-to-end tests need the payment services; until they are in main these modules wait."""

from __future__ import annotations

import importlib.util


def _have_services() -> bool:
    try:
        return importlib.util.find_spec("gamepay.services.payments") is not None
    except ModuleNotFoundError:
        return False


collect_ignore_glob = [] if _have_services() else ["test_ws_*.py"]
