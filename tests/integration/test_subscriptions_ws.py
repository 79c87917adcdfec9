"""Subscriptions over a real websocket, both backends: renew_subscription makes one intent per
period, paying it pushes subscription_changed, subscriptions lists the pass, the offer is pushed
as renewal_offered, and non-subscriptions are refused with a typed code."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from gamepay import Economy
from gamepay.payments import Catalog, PaymentsConfig
from gamepay.testing import RunningSandbox
from tests.integration.test_subscriptions import MONTH
from tests.support.catalog import sword_catalog
from tests.support.economy import running_economy
from tests.support.ws_client import open_client

CATALOG = Catalog(items=(*sword_catalog().items, MONTH))


@pytest.fixture
async def served(db_url: str) -> AsyncIterator[tuple[Economy, RunningSandbox]]:
    """A running economy selling the vip month, its KryptoGO the sandbox (no callbacks: the
    test applies the paid intent itself)."""
    async with running_economy(
        db_url,
        catalog=CATALOG,
        token_secret=secrets.token_hex(32),
        payments_config=PaymentsConfig(callback_url="http://127.0.0.1:9/unused"),
        poll_interval=None,
    ) as running:
        yield running


async def test_renew_pay_list_and_offer_over_the_websocket(
    served: tuple[Economy, RunningSandbox],
) -> None:
    """One intent per period however often asked; paid, it pushes the new period; the list
    shows the pass held; 27 days later the renewal is offered by push; bad skus are typed."""
    economy, sandbox = served
    async with economy.serve_websocket() as server:
        port = server.sockets[0].getsockname()[1]
        async with open_client(f"ws://127.0.0.1:{port}", economy.issue_token("alice")) as alice:
            first = await alice.ok("renew_subscription", sku="vip-month")
            again = await alice.ok("renew_subscription", sku="vip-month")
            assert (first["period_index"], first["sku"]) == (0, "vip-month")
            assert again["order_id"] == first["order_id"]
            assert first["fiat_amount"] == "150"
            for sku, code in (("sword", "not_a_subscription"), ("nope", "unknown_sku")):
                reply = await alice.request("renew_subscription", sku=sku)
                assert (reply["type"], reply["code"]) == ("error", code)
            sandbox.sandbox.pay(first["payment_intent_id"], "exact")
            await economy.payments.apply(
                await economy.client.get_intent(first["payment_intent_id"])
            )
            changed = await alice.wait_push(lambda p: p.get("event") == "subscription_changed")
            assert changed["data"]["period_index"] == 0
            [listed] = (await alice.ok("subscriptions"))["subscriptions"]
            assert (listed["sku"], listed["period_index"], listed["held"]) == ("vip-month", 0, True)
            later = datetime.now(UTC) + timedelta(days=27, hours=1)
            economy.payments.context.clock = lambda: later
            assert (await economy.payments.subscriptions.offer_due()).offered == 1
            offered = await alice.wait_push(lambda p: p.get("event") == "renewal_offered")
            assert offered["data"]["renewal_index"] == 1
            renewal = await alice.ok("renew_subscription", sku="vip-month")
            assert renewal["period_index"] == 1
            assert renewal["order_id"] != first["order_id"]
