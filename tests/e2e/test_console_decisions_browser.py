"""An operator resolves an unknown withdrawal in real headless Chromium against `gamepay serve`.

alice tops up over the websocket (the sandbox pays and calls back), then withdraws 5 USDT; the
sandbox executes the transfer and loses the answer (a 504 after commit), so the withdrawal is
``unknown``. The operator signs in at /admin, opens the withdrawals page, uploads the Studio
export the sandbox serves, picks the candidate, confirms on the confirmation page; afterwards
the ledger verifies (read from the same database) and the audit log holds the rows. The
withdrawals, confirmation, reward runs and audit pages are screenshotted (into
``GAMEPAY_TEST_SCREENSHOTS`` when set) and checked for their visible text. Both backends.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import httpx

from gamepay.audit import AuditLog
from gamepay.core.accounts import player_account
from gamepay.core.withdrawals import WithdrawalStatus
from gamepay.demo.players import PlayerClient
from gamepay.ledger import Ledger
from gamepay.sandbox import SandboxConfig
from gamepay.store import Store
from gamepay.testing import running_sandbox
from gamepay.withdrawals import Withdrawals, WithdrawalsConfig
from gamepay_ws import issue_token
from tests.support.browser import CONSOLE_BROWSER_MARKS, console_page, shots_dir
from tests.support.catalog import write_catalog
from tests.support.sandbox import client_for
from tests.support.serve_process import serve_env, serving

ADMIN_TOKEN = "console-decisions-test-admin-token-" + "7" * 16
WS_SECRET = "console-decisions-test-ws-secret-" + "8" * 16
API_KEY = "sk_console_decisions_never_shown_43"
USDT_ID = "token:arb:0xfd086bc7cd5c481dcc9c85ebe478a1c0b69fcbb9"
WALLET = "0x" + "ab" * 20

pytestmark = CONSOLE_BROWSER_MARKS


def _rewards_file(path: Path) -> Path:
    """A daily USDT program starting today: nothing to pay yet, today's period previewed."""
    today = datetime.now(UTC).date().isoformat()
    program = {"name": "daily-usdt", "asset": USDT_ID, "schedule": "daily", "start": today}
    path.write_text(json.dumps({"programs": [{**program, "cashback_bps": 100}]}))
    return path


async def test_an_operator_resolves_an_unknown_withdrawal_in_the_browser(
    db_url: str, backend: str, tmp_path: Path
) -> None:
    """Withdrawals page lists the unknown withdrawal; the uploaded export's transfer is its
    candidate; confirming settles it as sent; the ledger verifies; the audit page shows it;
    the console refuses the action without a session or with a bad CSRF token."""

    shots = shots_dir(tmp_path, f"console-decisions-{backend}")
    config = SandboxConfig(api_key=API_KEY, callback_retry_base=0.05)
    async with running_sandbox(config) as sandbox:
        sandbox.sandbox.fund("arb", "USDT", 10**12)
        env = serve_env(
            sandbox,
            WS_SECRET,
            database_url=db_url,
            catalog_file=str(write_catalog(tmp_path / "catalog.json")),
            rewards_file=str(_rewards_file(tmp_path / "rewards.json")),
            admin_token=ADMIN_TOKEN,
        )
        async with serving(env) as served:
            async with PlayerClient(served.ws_url, issue_token("alice", WS_SECRET, 300)) as alice:
                top_up = await alice.request("top_up", amount="20", currency="USD", request_id="t")
                sandbox.sandbox.pay(top_up["payment_intent_id"], "exact")
                assert await alice.wait_for_push("balance_changed", within=15)
                sandbox.sandbox.arm_timeout_after_commit("transfer", "504")
                lost = await alice.request(
                    "withdraw", asset=USDT_ID, amount="5", address=WALLET, request_id="w"
                )
                assert lost["status"] == "unknown"
            [record] = sandbox.sandbox.transfers.records()
            export = tmp_path / "transfers.json"
            export.write_text(json.dumps({"data": sandbox.sandbox.transfers.export_rows()}))

            store = await Store.connect(db_url)
            try:
                service = Withdrawals(
                    store, Ledger(store), client_for(sandbox), config=WithdrawalsConfig(tokens={})
                )
                [unknown] = await service.list(status=WithdrawalStatus.UNKNOWN)
                wid = unknown.id
                await _refusals(served.http_url, wid)
                await _browse(served.http_url, wid, record.transfer_id, export, shots)
                settled = await service.get(wid)
                assert (settled.status, settled.transfer_id) == (
                    WithdrawalStatus.SENT,
                    record.transfer_id,
                )
                ledger = Ledger(store)
                assert (await ledger.verify()).ok
                balance = await ledger.balance(player_account("alice"), USDT_ID)
                assert balance.held == 0
                rows = await AuditLog(store).page()
                assert [(r.action, r.target, r.result) for r in rows] == [
                    ("withdrawals.resolve", wid, "ok"),
                    ("withdrawals.upload_export", "transfers.json", "ok"),
                    ("console.sign_in", "console", "ok"),  # the browser's
                    ("console.sign_in", "console", "ok"),  # the refusal checks' client
                ]
                assert rows[0].details["transfer_id"] == record.transfer_id
            finally:
                await store.close()
    names = sorted(p.name for p in shots.glob("*.png"))
    expected = ["1-withdrawals", "2-candidates", "3-confirm", "4-resolved", "5-rewards", "6-audit"]
    assert names == [f"{name}.png" for name in expected]
    assert all((shots / name).stat().st_size > 5_000 for name in names)


async def _refusals(http_url: str, wid: str) -> None:
    """The resolve and upload actions refuse a request without a session (401) and one with
    a session but a bad CSRF token (403) on the real server."""
    resolve, upload = f"/admin/withdrawals/{wid}/resolve", "/admin/withdrawals/upload"
    files = {"export": ("t.json", b"[]", "application/json")}
    async with httpx.AsyncClient(base_url=http_url) as http:
        assert (await http.post(resolve, data={"as": "failed"})).status_code == 401
        assert (await http.post(upload, files=files)).status_code == 401
        signed = await http.post("/admin/signin", data={"token": ADMIN_TOKEN, "next": "/admin/"})
        assert signed.status_code == 303
        bad = {"as": "failed", "csrf": "0" * 64}
        assert (await http.post(resolve, data=bad)).status_code == 403
        assert (await http.post(upload, data=bad, files=files)).status_code == 403


async def _browse(http_url: str, wid: str, transfer_id: str, export: Path, shots: Path) -> None:
    """Sign in, upload the export, resolve through the confirmation page, read the audit."""
    from playwright.async_api import expect

    secrets = (ADMIN_TOKEN, WS_SECRET, API_KEY)
    async with console_page(shots, secrets, console_errors_only=False) as console:
        page, errors, shot = console.page, console.errors, console.shot

        await page.goto(f"{http_url}/admin/withdrawals")
        await expect(page).to_have_url(re.compile(r"/admin/signin"))
        await page.fill("input[name=token]", ADMIN_TOKEN)
        await page.click("button[type=submit]")
        await expect(page.locator("h1")).to_have_text("Withdrawals needing a decision")
        body = page.locator("main")
        await expect(body).to_contain_text(wid)
        await expect(body).to_contain_text("unknown")
        await expect(body).to_contain_text("5 USDT")
        await expect(body).to_contain_text("No export uploaded yet")
        await shot("1-withdrawals")

        await page.set_input_files("input[name=export]", str(export))
        await page.click("text=Upload export")
        await expect(page.locator(".notice")).to_have_text(
            "Export transfers.json read: 1 transfer(s)."
        )
        await expect(body).to_contain_text(transfer_id)
        await shot("2-candidates")

        await page.click("text=Resolve as sent with this transfer")
        await expect(page.locator("h1")).to_have_text(f"Resolve withdrawal {wid} as sent")
        await expect(body).to_contain_text("will be posted (paid out)")
        await expect(page.locator("input[name=transfer_id]")).to_have_value(transfer_id)
        await shot("3-confirm")
        await page.click("text=Confirm: resolve as sent")
        await expect(page.locator(".notice")).to_have_text(f"Withdrawal {wid} resolved as sent.")
        await expect(body).to_contain_text("Nothing is waiting for a decision.")
        await shot("4-resolved")

        await page.click("nav >> text=Reward runs")
        await expect(page.locator("h1")).to_have_text("Reward runs")
        await expect(body).to_contain_text("daily-usdt")
        await expect(body).to_contain_text("In progress")
        await expect(body).to_contain_text("No period run yet.")
        await shot("5-rewards")

        await page.click("nav >> text=Audit")
        await expect(page.locator("h1")).to_have_text("Audit log")
        table = page.locator("table")
        await expect(table).to_contain_text("withdrawals.resolve")
        await expect(table).to_contain_text("withdrawals.upload_export")
        await expect(table).to_contain_text(wid)
        await shot("6-audit")
        assert errors == []
