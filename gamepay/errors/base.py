"""The root of gamepay's exception tree: ``GamepayError`` and its stable ``code``."""

from __future__ import annotations

__all__ = ["GamepayError"]


class GamepayError(Exception):
    """Root of every gamepay exception; ``code`` is a stable machine-readable name."""

    code = "gamepay_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
