"""The operator console in real headless Chromium against a real `gamepay serve`, both backends.

alice buys a sword with crypto over the websocket and the sandbox's callback completes it; then
an operator signs in at /admin, sees the overview's charts, verifies the ledger, looks alice up
and opens her order. Every page is screenshotted (into ``GAMEPAY_TEST_SCREENSHOTS`` when set,
e.g. CI's artifacts directory, else the test's tmp dir) and checked for its visible text.
"""

from __future__ import annotations

import re
from pathlib import Path

from gamepay.demo.players import PlayerClient
from gamepay.sandbox import SandboxConfig
from gamepay.testing import running_sandbox
from gamepay_ws import issue_token
from tests.support.browser import CONSOLE_BROWSER_MARKS, console_page, shots_dir
from tests.support.catalog import write_catalog
from tests.support.serve_process import serve_env, serving

ADMIN_TOKEN = "console-browser-test-admin-token-" + "5" * 16
WS_SECRET = "console-browser-test-ws-secret-" + "6" * 16
API_KEY = "sk_console_browser_never_shown_42"

pytestmark = CONSOLE_BROWSER_MARKS


async def test_an_operator_signs_in_and_reads_the_economy(
    db_url: str, backend: str, tmp_path: Path
) -> None:
    """Sign-in page, overview with five charts and a verify run, alice's balances, the orders
    list and her order's details: each visible, screenshotted, and free of every secret."""
    from playwright.async_api import expect

    shots = shots_dir(tmp_path, f"console-{backend}")
    catalog = write_catalog(tmp_path / "catalog.json")
    config = SandboxConfig(api_key=API_KEY, callback_retry_base=0.05)
    async with running_sandbox(config) as sandbox:
        env = serve_env(
            sandbox,
            WS_SECRET,
            database_url=db_url,
            catalog_file=str(catalog),
            admin_token=ADMIN_TOKEN,
        )
        async with serving(env) as served:
            token = issue_token("alice", WS_SECRET, 300)
            async with PlayerClient(served.ws_url, token) as alice:
                buy = await alice.request("buy_with_crypto", sku="sword", request_id="b1")
                sandbox.sandbox.pay(buy["payment_intent_id"], "exact")
                assert await alice.wait_for_push(
                    "asset_granted", order_id=buy["order_id"], within=15
                )
            order_id = buy["order_id"]
            secrets = (ADMIN_TOKEN, WS_SECRET, API_KEY)
            async with console_page(shots, secrets, console_errors_only=True) as console:
                page, errors, shot = console.page, console.errors, console.shot

                await page.goto(f"{served.http_url}/admin")
                await expect(page).to_have_url(re.compile(r"/admin/signin\?next=/admin/$"))
                await expect(page.locator("h1")).to_have_text("Sign in")
                await expect(page.locator("body")).to_contain_text("Paste the console token")
                await shot("1-signin")
                await page.fill("input[name=token]", "wrong-" + "x" * 40)
                await page.click("button[type=submit]")
                await expect(page.locator(".error")).to_have_text("That token is not right.")
                await page.fill("input[name=token]", ADMIN_TOKEN)
                await page.click("button[type=submit]")

                await expect(page.locator("h1")).to_have_text("Overview")
                charts = page.locator("svg.chart")
                await expect(charts).to_have_count(5)
                for n in range(5):
                    await expect(charts.nth(n)).to_be_visible()
                orders_chart = page.locator("#chart-orders")
                await expect(orders_chart.locator(".legend")).to_contain_text("success 1")
                await expect(orders_chart.locator("rect")).to_have_count(1)
                await expect(page.locator("#chart-grants .legend")).to_contain_text("item:sword 1")
                await expect(page.locator("#chart-callbacks .legend")).to_contain_text("success 1")
                await page.click("text=Verify the ledger now")
                await expect(page.locator(".notice")).to_have_text(
                    "Verified just now: the ledger balances."
                )
                await expect(page.locator("#verify-result")).to_contain_text("balanced")
                await shot("2-overview")

                await page.click("nav >> text=Players")
                await page.fill("input[name=id]", "alice")
                await page.click("text=Look up")
                await expect(page.locator("h2").first).to_have_text("Balances of alice")
                await expect(page.locator("table").first).to_contain_text("1 sword")
                await expect(page.locator("table").nth(1)).to_contain_text("grant")
                await shot("3-player")

                await page.click("nav >> text=Orders")
                await expect(page.locator("h1")).to_have_text("Orders")
                await expect(page.locator("table")).to_contain_text(order_id)
                await shot("4-orders")
                await page.click(f"text={order_id}")
                await expect(page.locator("h1")).to_have_text(f"Order {order_id}")
                await expect(page.locator("table").first).to_contain_text("success")
                await expect(page.locator("table").nth(1)).to_contain_text("callback")
                await shot("5-order")

                await page.click("text=Sign out")
                await expect(page.locator("h1")).to_have_text("Sign in")
                await page.goto(f"{served.http_url}/admin/players")
                await expect(page).to_have_url(re.compile(r"/admin/signin"))
                wrong_token = "the server responded with a status of 401 (Unauthorized)"
                assert [e for e in errors if wrong_token not in e] == []
    names = sorted(p.name for p in shots.glob("*.png"))
    expected = ["1-signin", "2-overview", "3-player", "4-orders", "5-order"]
    assert names == [f"{name}.png" for name in expected]
    assert all((shots / name).stat().st_size > 5_000 for name in names)
