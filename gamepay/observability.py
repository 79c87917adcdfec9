"""Structured logs for the CLI and the server: JSON lines carrying request/intent/order ids.

On a terminal the CLI logs human-readable text instead (``GAMEPAY_LOG_FORMAT=auto``, the
default; ``json`` or ``text`` force one).

The library only logs through ``logging.getLogger("gamepay...")``; this module is what the
``gamepay`` command and ``gamepay serve`` install on top. Ids travel in context variables, so
code that handles one request, callback or order binds them once and every line logged below
carries them::

    with log_context(request_id="r-1", intent_id="pi_9"):
        logging.getLogger("gamepay.payments").info("applied")
    # {"ts": "...", "level": "INFO", "logger": "gamepay.payments", "msg": "applied",
    #  "request_id": "r-1", "intent_id": "pi_9"}

A redaction filter replaces every configured secret value (API key, callback and token
secrets, the database password) by asterisks in each record, as a last line of defence.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Final, TextIO

__all__ = [
    "CONTEXT_KEYS",
    "JsonFormatter",
    "RedactingFilter",
    "TextFormatter",
    "configure_logging",
    "current_context",
    "log_context",
]

CONTEXT_KEYS: Final = (
    "request_id",
    "intent_id",
    "order_id",
    "player_id",
    "withdrawal_id",
    "run_id",
)
"""The ids a log line can carry, each in its own context variable."""

_context: ContextVar[Mapping[str, str]] = ContextVar("gamepay_log_context", default={})  # noqa: B039
_MASK: Final = "**********"
_HANDLER_NAME: Final = "gamepay-structured"
# LogRecord attributes that are not "extra" fields a caller passed.
_RECORD_FIELDS: Final = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None)).keys()
) | {"message", "asctime", "taskName"}


def current_context() -> dict[str, str]:
    """The ids bound in the current context (a copy)."""
    return dict(_context.get())


@contextmanager
def log_context(**ids: str | int | None) -> Iterator[None]:
    """Bind ids (``request_id``, ``intent_id``, ``order_id``, ...) for the lines logged inside.

    Nested contexts add to the outer one; ``None`` values are skipped. Unknown keys are
    refused with ``ValueError`` so a typo does not silently lose an id.
    """
    unknown = set(ids) - set(CONTEXT_KEYS)
    if unknown:
        raise ValueError(f"unknown log context keys: {sorted(unknown)}")
    merged = dict(_context.get())
    merged.update({key: str(value) for key, value in ids.items() if value is not None})
    token = _context.set(merged)
    try:
        yield
    finally:
        _context.reset(token)


class RedactingFilter(logging.Filter):
    """Replace known secret values by asterisks in a record's message and extra fields."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first, so a secret that contains another is masked whole.
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, _MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place (message rendered first); never drops it."""
        if not self._secrets:
            return True
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            # Render the traceback now, scrubbed, so the formatter does not render it raw.
            record.exc_text = self._scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        record.msg = self._scrub(message)
        record.args = None
        for key, value in list(vars(record).items()):
            if key not in _RECORD_FIELDS and isinstance(value, str):
                setattr(record, key, self._scrub(value))
        return True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _RECORD_FIELDS}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, the bound ids, extras, exc."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as one line of JSON."""
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update(_context.get())
        for key, value in _extras(record).items():
            line.setdefault(key, value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc"] = record.exc_text
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Human-readable lines with the bound ids appended as ``key=value``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as one text line (plus a traceback if any)."""
        text = super().format(record)
        ids = {**_context.get(), **_extras(record)}
        if ids:
            head, sep, tail = text.partition("\n")
            suffix = " ".join(f"{k}={v}" for k, v in ids.items())
            text = f"{head} [{suffix}]{sep}{tail}"
        return text


def configure_logging(
    level: str | int = "INFO",
    fmt: str = "json",
    *,
    stream: TextIO | None = None,
    secrets: Iterable[str] = (),
    loggers: Iterable[str] = ("gamepay", "gamepay_ws", "uvicorn", "uvicorn.error"),
    propagate: bool = True,
) -> logging.Handler:
    """Send the ``gamepay`` (and server) loggers to ``stream`` as JSON or text; returns the handler.

    ``fmt="auto"`` picks text when the stream (default: stderr) is a terminal, JSON otherwise.
    Calling it again replaces the handler it installed before (idempotent). ``secrets`` are
    masked in every record that passes through the handler. Without ``stream`` lines go to
    whatever ``sys.stderr`` is at the time of each line. ``propagate=False`` stops records
    from also reaching handlers on the root logger.
    """
    if fmt not in {"auto", "json", "text"}:
        raise ValueError("fmt must be 'auto', 'json' or 'text'")
    target = stream if stream is not None else _Stderr()
    if fmt == "auto":
        fmt = "text" if _is_terminal(target) else "json"
    handler = logging.StreamHandler(target)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RedactingFilter(secrets))
    for name in loggers:
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if h.get_name() == _HANDLER_NAME]:
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate
    return handler


def _is_terminal(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (OSError, ValueError):
        return False


class _Stderr:
    """A stream that writes to the current ``sys.stderr`` (which tests and runners swap)."""

    def isatty(self) -> bool:
        """Whether the current ``sys.stderr`` is a terminal."""
        return _is_terminal(sys.stderr)

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()
