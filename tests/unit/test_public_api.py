"""The public surface re-exported from gamepay is pinned."""

from __future__ import annotations

import gamepay


def test_all_names_resolve() -> None:
    """Every name in gamepay.__all__ exists and __all__ is sorted without duplicates."""
    for name in gamepay.__all__:
        assert hasattr(gamepay, name), name
    assert len(set(gamepay.__all__)) == len(gamepay.__all__)
