"""Structured logging: JSON lines with bound ids, text mode, and secret redaction."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest

from gamepay.config import load_settings
from gamepay.observability import configure_logging, current_context, log_context

SECRET = "sk_live_0a1b2c3d4e5f"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """Route the gamepay logger to a buffer as JSON; restore the logger afterwards."""
    logger = logging.getLogger("gamepay")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    buffer = io.StringIO()
    configure_logging("DEBUG", "json", stream=buffer, secrets=[SECRET], loggers=["gamepay"])
    yield buffer
    logger.handlers[:] = saved[0]
    logger.setLevel(saved[1])
    logger.propagate = saved[2]


def _lines(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_json_lines_carry_bound_ids(stream: io.StringIO) -> None:
    """Ids bound with log_context appear on every line logged inside, and not after."""
    log = logging.getLogger("gamepay.payments.service")
    with log_context(request_id="req-1", order_id="ord-7"):
        with log_context(intent_id="pi_42"):
            log.info("applied %s", "success", extra={"status": "success"})
        log.warning("outer")
    log.info("after")
    first, second, third = _lines(stream)
    assert first["msg"] == "applied success"
    assert first["logger"] == "gamepay.payments.service"
    assert first["level"] == "INFO"
    assert (first["request_id"], first["order_id"], first["intent_id"]) == (
        "req-1",
        "ord-7",
        "pi_42",
    )
    assert first["status"] == "success"
    assert "intent_id" not in second
    assert second["order_id"] == "ord-7"
    assert "request_id" not in third
    assert current_context() == {}


async def test_context_is_per_task(stream: io.StringIO) -> None:
    """Concurrent tasks keep their own ids (contextvars), so lines are never cross-labelled."""
    log = logging.getLogger("gamepay.x")

    async def handle(order: str) -> None:
        with log_context(order_id=order):
            await asyncio.sleep(0.01)
            log.info("done")

    await asyncio.gather(*(handle(f"o{i}") for i in range(5)))
    assert sorted(str(line["order_id"]) for line in _lines(stream)) == [f"o{i}" for i in range(5)]


def test_unknown_context_key_refused() -> None:
    """A typo in a context key is an error, not a silently lost id."""
    with pytest.raises(ValueError, match="orderid"), log_context(orderid="x"):
        pass


def test_secret_is_redacted_from_messages_extras_and_tracebacks(stream: io.StringIO) -> None:
    """A secret that reaches a log call anyway is masked in msg, extras and exception text."""
    log = logging.getLogger("gamepay.client")
    log.info("calling with key %s", SECRET, extra={"header": f"X-STUDIO-API-KEY: {SECRET}"})
    try:
        raise RuntimeError(f"boom {SECRET}")
    except RuntimeError:
        log.exception("failed")
    text = stream.getvalue()
    assert SECRET not in text
    lines = _lines(stream)
    assert lines[0]["msg"] == "calling with key **********"
    assert "RuntimeError: boom **********" in str(lines[1]["exc"])


def test_settings_secrets_feed_the_filter(monkeypatch: pytest.MonkeyPatch) -> None:
    """configure_logging with Settings.secret_values() masks the configured API key."""
    monkeypatch.setenv("GAMEPAY_KRYPTOGO_API_KEY", SECRET)
    settings = load_settings(env_file=None)
    logger = logging.getLogger("gamepay")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    buffer = io.StringIO()
    try:
        configure_logging(
            "INFO", "text", stream=buffer, secrets=settings.secret_values(), loggers=["gamepay"]
        )
        with log_context(player_id="alice"):
            logging.getLogger("gamepay.cli").info(
                "key=%s", settings.kryptogo_api_key.get_secret_value()
            )
    finally:
        logger.handlers[:] = saved[0]
        logger.setLevel(saved[1])
        logger.propagate = saved[2]
    text = buffer.getvalue()
    assert SECRET not in text
    assert "key=**********" in text
    assert "player_id=alice" in text


def test_configure_logging_is_idempotent(stream: io.StringIO) -> None:
    """Configuring twice replaces the handler rather than doubling every line."""
    configure_logging("INFO", "json", stream=stream, loggers=["gamepay"])
    logging.getLogger("gamepay").info("once")
    assert len(_lines(stream)) == 1


def test_bad_format_refused() -> None:
    """Only json and text formats exist."""
    with pytest.raises(ValueError, match="fmt"):
        configure_logging(fmt="xml")


class _Terminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        """Pretend to be a terminal."""
        return True


@pytest.mark.parametrize(("stream_type", "json_lines"), [(io.StringIO, True), (_Terminal, False)])
def test_auto_format_is_text_on_a_terminal_and_json_otherwise(
    stream_type: type[io.StringIO], json_lines: bool
) -> None:
    """fmt="auto" writes JSON lines to a pipe or file and human text to a terminal."""
    out = stream_type()
    logger = logging.getLogger("gamepay.autofmt")
    handler = configure_logging("INFO", "auto", stream=out, loggers=["gamepay.autofmt"])
    try:
        logger.info("hello")
    finally:
        logger.removeHandler(handler)
    line = out.getvalue().strip()
    assert line.startswith("{") is json_lines
    assert "hello" in line
