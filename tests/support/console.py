"""The operator console over a real economy (real database, the sandbox over HTTP), in-process."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from starlette.applications import Starlette

from gamepay import BalancePrice, Currency, Economy, Token, WithdrawalsConfig
from gamepay.rewards import Program
from gamepay.testing import RunningSandbox
from gamepay_admin import SignInLimiter, console_routes
from tests.support.catalog import sword_catalog
from tests.support.economy import running_economy

__all__ = [
    "ADMIN_TOKEN",
    "GEM",
    "GOLD",
    "USDT",
    "WS_SECRET",
    "ConsoleWorld",
    "csrf_of",
    "running_console",
    "sign_in",
]

ADMIN_TOKEN = "admin-token-for-the-console-tests-" + "0123456789abcdef"
WS_SECRET = "ws-secret-of-the-console-tests-" + "fedcba9876543210"
GOLD = Currency("gold", 0)
GEM = Currency("gem", 2)
USDT = Token("arb", "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9", "USDT", 6)
_CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


@dataclass
class ConsoleWorld:
    """A running economy, the sandbox it talks to and an HTTP client of its console."""

    economy: Economy
    sandbox: RunningSandbox
    http: httpx.AsyncClient


@asynccontextmanager
async def running_console(
    db_url: str,
    *,
    base_url: str = "http://testserver",
    limiter: SignInLimiter | None = None,
    programs: Sequence[Program] = (),
) -> AsyncIterator[ConsoleWorld]:
    """An economy from parts on ``db_url`` (the sword sold for fiat or 500 gold; no callback
    URL, so only the poller or a reconcile learns a payment) with the console mounted, and a
    client of it; ``programs`` are the economy's reward programs."""
    async with running_economy(
        db_url,
        catalog=sword_catalog(BalancePrice(asset_id=GOLD.id, amount=500)),
        assets=[GOLD, GEM],
        token_secret=WS_SECRET,
        withdrawals=WithdrawalsConfig(tokens={USDT.id: USDT}),
        poll_interval=None,
        programs=programs,
    ) as (economy, sandbox):
        app = Starlette(routes=[*console_routes(economy, ADMIN_TOKEN, limiter=limiter)])
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as http:
            yield ConsoleWorld(economy, sandbox, http)


async def sign_in(http: httpx.AsyncClient, token: str = ADMIN_TOKEN) -> httpx.Response:
    """POST the sign-in form (the client keeps the session cookie)."""
    return await http.post("/admin/signin", data={"token": token, "next": "/admin/"})


def csrf_of(html: str) -> str:
    """The CSRF token of the first form of a page."""
    found = _CSRF.search(html)
    assert found, html[:500]
    return found.group(1)
