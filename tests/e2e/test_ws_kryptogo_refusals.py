"""KryptoGO's documented refusals reach the player as stable error codes, never internal text:
a top-up under 0.01 (``amount_too_small``) and a treasury too low (4015 ->
``withdrawals_unavailable``, funds back at once)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from examples.shop.server import Shop, running_shop
from gamepay.sandbox.treasury import Treasury
from gamepay_ws import AdapterConfig
from tests.support.ws_client import open_client


@pytest.fixture
async def shop() -> AsyncIterator[Shop]:
    """The demo shop on SQLite, on free ports, stopped after the test."""
    config = AdapterConfig(auth_timeout=2.0, rate_burst=200, rate_per_second=200)
    async with running_shop(adapter_config=config) as running:
        yield running


async def test_top_up_under_the_minimum_is_a_typed_error(shop: Shop) -> None:
    """0.001 USD is refused with amount_too_small before any intent exists; 0.01 works."""
    async with open_client(shop.ws_url, shop.token("alice")) as alice:
        reply = await alice.request("top_up", amount="0.001", currency="USD")
        assert (reply["type"], reply["code"]) == ("error", "amount_too_small")
        assert "0.01" in reply["message"]
        assert shop.sandbox.sandbox.intents() == []
        ok = await alice.ok("top_up", amount="0.01", currency="USD")
        assert ok["payment_intent_id"]


async def test_treasury_short_is_temporarily_unavailable_and_returns_the_funds(
    shop: Shop,
) -> None:
    """A 4015 answer voids the hold at once; the player hears withdrawals_unavailable with a
    safe message, the balance is whole again, and the failure push carries only a code."""
    async with open_client(shop.ws_url, shop.token("alice")) as alice:
        top_up = await alice.ok("top_up", amount="10", currency="USD")
        shop.sandbox.sandbox.pay(top_up["payment_intent_id"], "exact")
        asset = shop.withdrawable[0]["asset"]
        await alice.wait_push(
            lambda p: p.get("event") == "order_status_changed" and p["data"]["status"] == "success"
        )
        before = (await alice.ok("balance"))["balances"]
        sandbox = shop.sandbox.sandbox
        sandbox.treasury = Treasury()  # KryptoGO's treasury is empty now
        reply = await alice.request("withdraw", asset=asset, amount="1", address="0x" + "cd" * 20)
        assert (reply["type"], reply["code"]) == ("error", "withdrawals_unavailable")
        assert "temporarily unavailable" in reply["message"]
        for internal in ("4015", "Balance", "treasury", "insufficient"):
            assert internal not in reply["message"]
        failed = await alice.wait_push(
            lambda p: (
                p.get("event") == "withdrawal_status_changed"
                and p["data"].get("status") == "failed"
            )
        )
        assert failed["data"]["error"] == "treasury_insufficient"
        assert (await alice.ok("balance"))["balances"] == before
        assert len(sandbox.transfers) == 0
