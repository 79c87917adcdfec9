"""The console's built-in pages, in nav order: add a page here (one line) to plug it in."""

from __future__ import annotations

from gamepay_admin.overview import OVERVIEW
from gamepay_admin.web import Page

__all__ = ["PAGES"]

PAGES: tuple[Page, ...] = (OVERVIEW,)
"""Every built-in page; ``console_routes(pages=...)`` adds a game's own after them."""
