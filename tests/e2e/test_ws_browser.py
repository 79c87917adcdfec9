"""The storefront page in real headless Chromium: buy, pay in the sandbox, see it granted live."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from examples.shop.server import Shop, running_shop

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (CI installs it and must run this)",
    ),
]


@pytest.fixture
async def shop() -> AsyncIterator[Shop]:
    """The demo shop on SQLite and free ports."""
    async with running_shop() as running:
        yield running


async def test_storefront_buy_pay_granted(shop: Shop, tmp_path: Path) -> None:
    """Buy with crypto on the page, pay through the sandbox control API, see it granted."""
    from playwright.async_api import async_playwright, expect

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            response = await page.goto(f"{shop.http_url}/?player=alice")
            assert response is not None
            assert "Loading the catalog" in await response.text()  # shown until it arrives
            await expect(page.locator("#loading")).to_have_count(0)  # gone once the catalog is in
            await expect(page.locator("#conn")).to_have_text("connected")
            await expect(page.locator("#player")).to_have_text("alice")
            await expect(page.locator('.item[data-sku="sword"] .title')).to_have_text("Iron sword")
            gold = page.locator('#balances tr[data-asset="currency:gold"] td.num').first
            await expect(gold).to_have_text("1000")

            await page.locator('.item[data-sku="sword"] .buy-crypto').click()
            panel = page.locator(".pay").first
            await expect(panel.locator(".amount")).to_have_text(re.compile(r"^[0-9.]+ USDT$"))
            await expect(panel.locator(".countdown")).to_have_text(
                re.compile(r"^1[45]:[0-5][0-9]$")
            )
            await expect(panel.locator(".status")).to_have_text("pending")
            order_id = await panel.get_attribute("data-order-id")
            assert order_id is not None
            order = await shop.payments.order(order_id)
            assert order.player_id == "alice"
            assert order.payment_intent_id is not None
            shop.sandbox.sandbox.pay(order.payment_intent_id, "exact")  # the sandbox control API

            await expect(panel.locator(".status")).to_have_text("success")
            granted = "\u2714 granted 1 \u00d7 Iron sword"  # the page's check mark and times sign
            await expect(panel.locator(".granted")).to_have_text(granted)
            sword = page.locator('#balances tr[data-asset="item:sword"] td.num').first
            await expect(sword).to_have_text("1")
            await expect(page.locator("#log")).to_contain_text("granted 1 \u00d7 Iron sword")

            await page.locator('.item[data-sku="shield"] .buy-balance').click()
            await expect(gold).to_have_text("750")
            await page.fill("#wd-amount", "1")
            await page.fill("#wd-address", "not-an-address")
            await page.click("#withdraw button")
            await expect(page.locator("#wd-result")).to_contain_text("invalid_address")
            text = await page.locator("body").inner_text()
            assert "Iron sword" in text
            assert "or 500 gold" in text  # the balance price by its code, not a raw asset id
            assert "Pay exactly" in text
            assert "USDT" in text
            for raw in ("item:", "currency:", "token:"):
                assert raw not in text, f"a raw asset id ({raw}...) is visible"
            order_log = await page.locator("#log li span").first.inner_text()
            assert re.fullmatch(r"\d{1,2}:\d{2}:\d{2}( [AP]M)?", order_log), order_log
            await page.screenshot(path=str(tmp_path / "storefront.png"), full_page=True)
            shot = os.environ.get("GAMEPAY_SCREENSHOT")
            if shot:
                await page.screenshot(path=shot, full_page=True)
            assert errors == []
        finally:
            await browser.close()


async def test_storefront_shows_and_buys_a_bundle(shop: Shop) -> None:
    """The page lists the starter pack's three parts by name; buying it with gold shows every
    part in the balances at once (one order) and takes the price once."""
    from playwright.async_api import async_playwright, expect

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(f"{shop.http_url}/?player=bo")
            await expect(page.locator("#conn")).to_have_text("connected")
            pack = page.locator('.item[data-sku="starter-pack"]')
            await expect(pack.locator(".contents li")).to_have_text(
                ["1 \u00d7 Iron sword", "1 \u00d7 Oak shield", "3 \u00d7 Health potion"]
            )
            await expect(pack).to_contain_text("bundle: gets all of")
            gold = page.locator('#balances tr[data-asset="currency:gold"] td.num').first
            await expect(gold).to_have_text("1000")
            await pack.locator(".buy-balance").click()
            await expect(gold).to_have_text("300")
            for asset, amount in (("item:sword", "1"), ("item:shield", "1"), ("item:potion", "3")):
                row = page.locator(f'#balances tr[data-asset="{asset}"] td.num').first
                await expect(row).to_have_text(amount)
            (order,) = [o for o in await shop.payments.orders_for("bo") if o.sku == "starter-pack"]
            assert order.grant_parts is not None
            assert "item:" not in await page.locator("#items").inner_text()
            assert errors == []
        finally:
            await browser.close()


async def test_served_by_the_runtime_with_a_token_in_the_fragment(tmp_path: Path) -> None:
    """What `gamepay serve` runs serves the packaged page at /: without a token it says so; with
    /#token=... it connects to /ws of its own origin and shows the token's player and catalog."""
    from playwright.async_api import async_playwright, expect

    from gamepay.cli.runtime import running_runtime
    from gamepay.config import Settings
    from gamepay.testing import running_sandbox, sqlite_url
    from gamepay_ws import issue_token
    from tests.support.catalog import SWORD_CATALOG

    secret = "a-websocket-secret-of-at-least-32-bytes"
    async with running_sandbox() as sandbox:
        settings = Settings(
            _env_file=None,
            database_url=sqlite_url(tmp_path / "serve.db"),
            kryptogo_base_url=sandbox.url,
            kryptogo_api_key=sandbox.api_key,
            ws_token_secret=secret,
            http_port=0,
        )
        async with (
            running_runtime(settings, SWORD_CATALOG, poll_interval=None) as server,
            async_playwright() as pw,
        ):
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            try:
                page = await browser.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                await page.goto(f"{server.http_url}/")
                await expect(page.locator("#conn")).to_have_text("no player token")
                await expect(page.locator("#shop-error")).to_contain_text("#token=")
                token = issue_token("dora", secret, 300)
                await page.goto(f"{server.http_url}/?again#token={token}")
                await expect(page.locator("#conn")).to_have_text("connected")
                await expect(page.locator("#player")).to_have_text("dora")
                title = page.locator('.item[data-sku="sword"] .title')
                await expect(title).to_have_text("Iron sword")
                assert errors == []
            finally:
                await browser.close()
    assert server.ws_url == f"{server.http_url.replace('http', 'ws', 1)}/ws"
