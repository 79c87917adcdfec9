"""The demo's runtime in-process: storefront endpoints, websocket players, /metrics."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from gamepay.cli.runtime import running_runtime
from gamepay.demo.players import PlayerClient, ReplyError
from gamepay.demo.runner import DemoOptions, pay_rewards, play, running_demo, settle, summarize
from gamepay.demo.scenario import plan_players
from gamepay.demo.view import DemoView
from gamepay.metrics import Metrics


async def test_storefront_session_websocket_and_metrics(tmp_path: Path) -> None:
    """The page is served, /demo/session hands out a working token, /metrics counts it all."""
    metrics = Metrics()
    options = DemoOptions(quick=True, players=8, directory=tmp_path, faults=False)
    async with running_demo(options, running_runtime, metrics) as run, httpx.AsyncClient() as http:
        page = await http.get(run.runtime.http_url + "/")
        assert page.status_code == 200
        assert "<html" in page.text.lower()
        session = (await http.get(run.runtime.http_url + "/demo/session?player=web-1")).json()
        assert session["player_id"] == "web-1"
        assert session["withdrawable"][0]["asset"] == run.token.id
        async with PlayerClient(session["ws_url"], session["token"]) as visitor:
            catalog = await visitor.request("catalog")
            assert {item["sku"] for item in catalog["items"]} == {"sword", "shield", "potion"}
            instructions = await visitor.request("buy_with_crypto", sku="sword", request_id="v1")
            paid = await http.post(
                run.runtime.http_url + "/demo/pay",
                json={"payment_intent_id": instructions["payment_intent_id"]},
            )
            assert paid.json() == {"status": "success"}
            assert await visitor.wait_for_push("asset_granted", order_id=instructions["order_id"])
        scraped = (await http.get(run.runtime.http_url + "/metrics")).text
    assert "gamepay_ws_connections_accepted_total 1.0" in scraped
    assert metrics.value("gamepay_events_total", {"type": "asset_granted"}) == 1


async def test_forged_token_refused(tmp_path: Path) -> None:
    """A token not signed with the demo's secret is refused with token_rejected."""
    options = DemoOptions(quick=True, players=1, directory=tmp_path, faults=False)
    async with running_demo(options, running_runtime) as run:
        with pytest.raises(ReplyError) as refused:
            async with PlayerClient(run.runtime.ws_url, "eyJ2IjoxfQ.c2ln"):
                pass
    assert refused.value.code == "token_rejected"


async def test_whole_demo_in_process_with_metrics(tmp_path: Path) -> None:
    """The demo's steps in-process: the summary passes and /metrics saw every kind of work."""
    metrics = Metrics()
    options = DemoOptions(quick=True, players=10, directory=tmp_path)
    plans = plan_players(options.crowd, seed=options.seed, skus=("sword", "shield", "potion"))
    async with running_demo(options, running_runtime, metrics) as run:
        view = DemoView(len(plans), live=False)
        await play(run, plans, view)
        await settle(run, view)
        await pay_rewards(run, view)
        summary = await summarize(run, plans)
        async with httpx.AsyncClient() as http:
            scraped = (await http.get(run.runtime.http_url + "/metrics")).text
    assert summary.ok, summary.problems()
    assert summary.rewards_paid > 0
    assert summary.reward_total.endswith(" USDT")
    assert view.counters["intents"] >= summary.orders
    assert 'gamepay_ledger_transfers_total{kind="grant"}' in scraped
    assert 'gamepay_orders{kind="purchase",status="success"}' in scraped
    assert (
        f'gamepay_reward_payouts_total{{program="demo-cashback"}} {float(summary.rewards_paid)}'
        in scraped
    )
    sent = summary.withdrawals_by_status.get("sent", 0)
    assert f'gamepay_withdrawal_states{{status="sent"}} {float(sent)}' in scraped
    assert "gamepay_callback_seconds_count" in scraped
    assert metrics.value("gamepay_ws_connections_accepted_total") >= 10
    assert metrics.value("gamepay_ws_connections") == 0
    assert metrics.value("gamepay_intent_status_total", {"status": "success"}) == summary.paid
    assert (
        metrics.value(
            "gamepay_kryptogo_calls_total", {"operation": "create_intent", "status": "200"}
        )
        >= summary.orders
    )


async def test_runtime_on_each_backend(db_url: str) -> None:
    """The serve runtime works on SQLite and PostgreSQL (LISTEN/NOTIFY bus): buy, pay, push."""
    from gamepay.cli.runtime import running_runtime
    from gamepay.config import Settings
    from gamepay.demo.runner import demo_catalog
    from gamepay.testing import running_sandbox
    from gamepay_ws import issue_token

    async with running_sandbox() as sandbox:
        settings = Settings(
            _env_file=None,
            database_url=db_url,
            kryptogo_base_url=sandbox.url,
            kryptogo_api_key=sandbox.api_key,
            ws_token_secret="backend-test-secret-of-32-bytes!",
            http_port=0,
            ws_port=0,
        )
        token = settings.tokens[0]
        async with running_runtime(settings, demo_catalog(token)) as server:
            assert (server.store.dialect == "postgresql") == db_url.startswith("postgres")
            ticket = issue_token("carol", "backend-test-secret-of-32-bytes!", 300)
            async with PlayerClient(server.ws_url, ticket) as carol:
                pay = await carol.request("buy_with_crypto", sku="shield", request_id="c1")
                sandbox.sandbox.pay(pay["payment_intent_id"], "exact")
                assert await carol.wait_for_push(
                    "asset_granted", order_id=pay["order_id"], within=10
                )
                balance = await carol.request("balance")
            assert any(b["asset"] == "item:shield" for b in balance["balances"])
            assert (await server.ledger.verify()).ok
