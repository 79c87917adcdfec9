"""The console browser tests' shared setup: Debian's Chromium, their marks, where screenshots
go, and a page that records its errors and screenshots only pages free of every secret."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
CONSOLE_BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (CI installs it and must run this)",
    ),
]
"""The marks of a console browser test: browser, slow, and skipped only outside CI without
Chromium."""


def shots_dir(tmp_path: Path, name: str) -> Path:
    """Where this run's screenshots go: ``GAMEPAY_TEST_SCREENSHOTS``/``name`` when set (e.g.
    CI's artifacts directory), else the test's tmp dir; created."""
    root = os.environ.get("GAMEPAY_TEST_SCREENSHOTS")
    where = Path(root) / name if root else tmp_path / "screenshots"
    where.mkdir(parents=True, exist_ok=True)
    return where


@dataclass
class ConsolePage:
    """A Chromium page, the errors it reported, and the screenshot directory and secrets."""

    page: Any
    errors: list[str]
    shots: Path
    secrets: tuple[str, ...]

    async def shot(self, name: str) -> None:
        """Assert no secret is in the page's HTML, then screenshot it (full page) as name.png."""
        html = await self.page.content()
        for secret in self.secrets:
            assert secret not in html, name
        await self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)


@asynccontextmanager
async def console_page(
    shots: Path, secrets: Sequence[str], *, console_errors_only: bool
) -> AsyncIterator[ConsolePage]:
    """A 1280x1000 page of a headless Chromium, closed on exit; page errors, and console
    messages (only those of type error when ``console_errors_only``), go to its ``errors``."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on(
                "console",
                lambda msg: (
                    errors.append(msg.text)
                    if not console_errors_only or msg.type == "error"
                    else None
                ),
            )
            yield ConsolePage(page, errors, shots, tuple(secrets))
        finally:
            await browser.close()
