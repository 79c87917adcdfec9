"""CLI tests: the root command configures logging; put the loggers back after each test."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

_LOGGERS = ("gamepay", "gamepay_ws", "uvicorn", "uvicorn.error")


@pytest.fixture(autouse=True)
def _restore_loggers() -> Iterator[None]:
    """Whatever a command installs on the gamepay/uvicorn loggers is undone afterwards."""
    saved = {}
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        saved[name] = (list(logger.handlers), logger.level, logger.propagate)
    yield
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate
