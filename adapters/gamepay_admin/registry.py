"""The console's built-in pages, in nav order: add a page here (one line) to plug it in."""

from __future__ import annotations

from gamepay_admin.audit import AUDIT
from gamepay_admin.orders import ORDERS
from gamepay_admin.overview import OVERVIEW
from gamepay_admin.players import PLAYERS
from gamepay_admin.rewards import REWARDS
from gamepay_admin.web import Page
from gamepay_admin.withdrawals import WITHDRAWALS

__all__ = ["PAGES"]

PAGES: tuple[Page, ...] = (OVERVIEW, PLAYERS, ORDERS, WITHDRAWALS, REWARDS, AUDIT)
"""Every built-in page; ``console_routes(pages=...)`` adds a game's own after them."""
