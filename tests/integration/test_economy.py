"""``gamepay.Economy``: one entry point wires store, services, ONE bus and the adapter.

Real parts only: the KryptoGO sandbox over HTTP, a real database of each backend, uvicorn
serving the economy's routes, and a websocket client; the bus is never passed by hand.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import jwt
import pytest
from starlette.applications import Starlette

from gamepay import (
    BalancePrice,
    Currency,
    Economy,
    InProcessBus,
    Item,
    KryptoGOClient,
    PaymentsConfig,
    PostgresBus,
    Store,
    Token,
    WithdrawalsConfig,
)
from gamepay.config import Settings
from gamepay.core.events import Event, EventType
from gamepay.errors import ConfigError, InvalidInput
from gamepay.payments.catalog import Catalog, CatalogError
from gamepay.testing import RunningSandbox, running_sandbox, sqlite_url
from gamepay_ws import CALLBACK_PATH, issue_token, serve_http
from tests.support.catalog import sword_catalog
from tests.support.sandbox import client_for
from tests.support.ws_client import Client, open_client

GOLD = Currency("gold", 0)
USDT = Token("arb", "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9", "USDT", 6)
WALLET = "0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045"
CATALOG = sword_catalog(BalancePrice(asset_id=GOLD.id, amount=500))


@asynccontextmanager
async def _served_from_parts(db_url: str, sandbox: RunningSandbox) -> AsyncIterator[Economy]:
    """An economy from parts, its routes served by uvicorn, its callback URL that server's."""
    store = await Store.connect(db_url)
    await store.migrate()
    client = client_for(sandbox)
    app = Starlette()
    try:
        async with serve_http(app) as port:
            economy = Economy.from_parts(
                store=store,
                client=client,
                catalog=CATALOG,
                assets=[GOLD],
                token_secret=secrets.token_hex(32),
                payments_config=PaymentsConfig(
                    callback_url=f"http://127.0.0.1:{port}{CALLBACK_PATH}"
                ),
                withdrawals=WithdrawalsConfig(tokens={USDT.id: USDT}),
                poll_interval=None,
            )
            app.router.routes.extend(economy.routes)
            async with economy:
                yield economy
    finally:
        await client.aclose()
        await store.close()


async def _player(economy: Economy, player_id: str) -> AsyncIterator[Client]:
    async with economy.serve_websocket() as server:
        port = server.sockets[0].getsockname()[1]
        async with open_client(f"ws://127.0.0.1:{port}", economy.issue_token(player_id)) as c:
            yield c


player = asynccontextmanager(_player)


async def test_a_player_buys_tops_up_and_withdraws_with_the_bus_given_nowhere(
    db_url: str,
) -> None:
    """From parts, no bus passed: balance buy, crypto top-up by callback and withdrawal push."""
    async with running_sandbox() as sandbox, _served_from_parts(db_url, sandbox) as economy:
        sandbox.sandbox.fund("arb", "USDT", "1000")
        expected_bus = PostgresBus if economy.store.dialect == "postgresql" else InProcessBus
        assert isinstance(economy.bus, expected_bus)
        await economy.grant("alice", GOLD, 800, grant_id="welcome:alice")
        async with player(economy, "alice") as alice:
            bought = await alice.ok("buy_with_balance", sku="sword")
            assert bought["status"] == "completed"
            await alice.wait_push(
                lambda p: p.get("event") == "asset_granted" and p["data"]["asset"] == "item:sword"
            )
            pay = await alice.ok("top_up", amount="65", currency="TWD")
            sandbox.sandbox.pay(pay["payment_intent_id"], "exact")
            # Only the callback (no poller runs here) can settle it and push the balance.
            await alice.wait_push(
                lambda p: (
                    p.get("event") == "order_status_changed"
                    and p["data"]["order_id"] == pay["order_id"]
                    and p["data"]["status"] == "success"
                )
            )
            sent = await alice.ok("withdraw", asset=USDT.id, amount="1.5", address=WALLET)
            assert sent["status"] == "sent"
            await alice.wait_push(
                lambda p: (
                    p.get("event") == "withdrawal_status_changed" and p["data"]["status"] == "sent"
                )
            )
        ledger = economy.ledger
        assert (await ledger.balance("player:alice", GOLD.id)).available == 300
        assert (await ledger.balance("player:alice", "item:sword")).available == 1
        assert (await ledger.balance("player:alice", USDT.id)).available == 500_000
        assert (await ledger.verify()).ok


async def test_from_settings_opens_everything_only_while_running(tmp_path: Path) -> None:
    """Built from settings, the parts exist inside ``async with`` only; routes work once up."""
    async with running_sandbox() as sandbox:
        settings = Settings(
            _env_file=None,
            database_url=sqlite_url(tmp_path / "game.db"),
            kryptogo_client_id=sandbox.client_id,
            kryptogo_api_key=sandbox.api_key,
            kryptogo_origin=sandbox.origin,
            kryptogo_base_url=sandbox.url,
            ws_token_secret=secrets.token_hex(32),
        )
        economy = Economy.from_settings(settings, CATALOG, assets=[GOLD], poll_interval=0.2)
        app = Starlette(routes=economy.routes, lifespan=economy.lifespan)
        with pytest.raises(ConfigError, match="not running"):
            _ = economy.payments
        assert not (tmp_path / "game.db").exists()
        async with economy:
            assert economy.running
            assert isinstance(economy.bus, InProcessBus)
            assert [item.sku for item in economy.catalog] == ["sword"]
            async with serve_http(app) as port, httpx.AsyncClient() as http:
                health = await http.get(f"http://127.0.0.1:{port}/healthz")
                refused = await http.post(f"http://127.0.0.1:{port}{CALLBACK_PATH}", content=b"{")
            assert health.json() == {"ok": True}
            assert refused.status_code == 400
            # No callback URL is configured: the poller alone learns the payment, and its
            # grant reaches the economy's one bus.
            granted = asyncio.Event()

            async def on_event(event: Event) -> None:
                if event.type is EventType.ASSET_GRANTED:
                    granted.set()

            economy.bus.subscribe(on_event)
            pay = await economy.payments.purchase("bob", "sword", request_id="r-1")
            sandbox.sandbox.pay(pay.payment_intent_id, "exact")
            await asyncio.wait_for(granted.wait(), 20)  # the first poll comes after 5 s
            assert (await economy.payments.order(pay.order_id)).granted
        assert not economy.running
        with pytest.raises(ConfigError, match="not running"):
            _ = economy.ledger
        assert (tmp_path / "game.db").exists()


async def test_an_economy_refuses_to_run_without_a_way_to_check_players(tmp_path: Path) -> None:
    """No token secret and no authenticator: ConfigError at build time, before any socket."""
    store = await Store.connect(sqlite_url(tmp_path / "x.db"))
    client = KryptoGOClient(client_id="c", api_key="k", origin="http://localhost")
    try:
        with pytest.raises(ConfigError, match="token_secret"):
            Economy.from_parts(store=store, client=client)
    finally:
        await client.aclose()
        await store.close()


async def test_grants_are_once_per_id_and_never_of_tokens(tmp_path: Path) -> None:
    """``grant`` replays by id without paying twice and refuses on-chain tokens."""
    store = await Store.connect(sqlite_url(tmp_path / "g.db"))
    await store.migrate()
    client = KryptoGOClient(client_id="c", api_key="k", origin="http://localhost")
    economy = Economy.from_parts(store=store, client=client, token_secret="s" * 32)
    try:
        async with economy:
            first = await economy.grant("carol", Item("badge"), 2, grant_id="quest-1")
            again = await economy.grant("carol", Item("badge"), 2, grant_id="quest-1")
            assert again.id == first.id
            assert (await economy.ledger.balance("player:carol", "item:badge")).available == 2
            with pytest.raises(InvalidInput):
                await economy.grant("carol", USDT, 1, grant_id="free-money")  # type: ignore[arg-type]
    finally:
        await client.aclose()
        await store.close()


async def test_a_price_in_an_unknown_asset_stops_the_start_and_leaves_nothing_open(
    tmp_path: Path,
) -> None:
    """Gold is never registered: entering raises CatalogError, and the economy is not running."""
    settings = Settings(
        _env_file=None,
        database_url=sqlite_url(tmp_path / "bad.db"),
        kryptogo_base_url="http://127.0.0.1:9",  # never called: entering makes no API call
        ws_token_secret=secrets.token_hex(32),
    )
    economy = Economy.from_settings(settings, CATALOG)
    with pytest.raises(CatalogError, match=r"balance_price\.asset_id"):
        async with economy:
            pass
    assert not economy.running
    with pytest.raises(ConfigError, match="not running"):
        _ = economy.store
    async with Economy.from_settings(settings, CATALOG, assets=[GOLD]) as fixed:
        assert (await fixed.ledger.get_assets([GOLD.id])).keys() == {GOLD.id}


async def test_from_settings_rotates_player_token_keys_by_kid(tmp_path: Path) -> None:
    """With GAMEPAY_WS_TOKEN_KID/OLD_KEYS/ISSUER set, the economy mints tokens with the current
    kid and issuer and accepts the old key's tokens; another issuer or an unknown kid is
    ``token_rejected``."""
    current, old = secrets.token_hex(32), secrets.token_hex(32)
    async with running_sandbox() as sandbox:
        settings = Settings(
            _env_file=None,
            database_url=sqlite_url(tmp_path / "game.db"),
            kryptogo_base_url=sandbox.url,
            ws_token_secret=current,
            ws_token_kid="2026-12",
            ws_token_old_keys=f"2026-11={old}",
            ws_token_issuer="my-game",
        )
        async with (
            Economy.from_settings(settings, CATALOG, assets=[GOLD], poll_interval=None) as eco,
            eco.serve_websocket() as server,
        ):
            url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}"
            minted = eco.issue_token("alice")
            old_token = issue_token("bob", old, 60, kid="2026-11", issuer="my-game")
            assert jwt.get_unverified_header(minted)["kid"] == "2026-12"
            assert jwt.decode(minted, options={"verify_signature": False})["iss"] == "my-game"
            for token in (minted, old_token):
                async with open_client(url, token) as client:
                    assert (await client.ok("balance"))["type"] == "balance_result"
            refused = [
                issue_token("eve", old, 60, kid="2026-10", issuer="my-game"),  # unknown kid
                issue_token("eve", current, 60, kid="2026-12", issuer="other-game"),
                issue_token("eve", secrets.token_hex(32), 60, issuer="my-game"),  # no kid, forged
            ]
            for token in refused:
                async with open_client(url) as client:
                    reply = await client.request("authenticate", token=token)
                    assert reply["type"] == "error"
                    assert reply["code"] == "token_rejected"


def test_from_settings_refuses_what_serve_refuses(caplog: pytest.LogCaptureFixture) -> None:
    """Sandbox credentials aimed at KryptoGO's production host and a short secret: ConfigError
    naming each variable, before anything opens; GAMEPAY_ENV=dev logs them as warnings."""
    unsafe = Settings(_env_file=None, ws_token_secret="x" * 31)  # production host by default
    with pytest.raises(ConfigError) as refused:
        Economy.from_settings(unsafe, CATALOG)
    for name in ("WS_TOKEN_SECRET", "KRYPTOGO_CLIENT_ID", "KRYPTOGO_API_KEY", "CALLBACK_PUBLIC"):
        assert f"GAMEPAY_{name}" in str(refused.value)
    assert "x" * 31 not in str(refused.value)
    dev = unsafe.model_copy(update={"env": "dev"})
    with caplog.at_level("WARNING", logger="gamepay.economy"):
        economy = Economy.from_settings(dev, CATALOG)
    assert not economy.running
    assert sum("GAMEPAY_ENV=dev" in r.getMessage() for r in caplog.records) == 4


async def test_a_dev_start_prints_each_settings_warning_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """serve's path in dev (its start-up check, then the runtime and the economy it builds):
    sandbox credentials at KryptoGO's host and no callback URL are warned about once each,
    by serve, and the economy starts without repeating them."""
    from gamepay.cli.runtime import running_runtime
    from gamepay.cli.serve import preflight

    settings = Settings(
        _env_file=None,
        env="dev",
        ws_token_secret=secrets.token_hex(32),
        database_url=sqlite_url(tmp_path / "dev.db"),
        http_port=0,
    )
    names = ("KRYPTOGO_CLIENT_ID", "KRYPTOGO_API_KEY", "CALLBACK_PUBLIC_URL")
    with caplog.at_level("WARNING"):
        checked = preflight(settings)
        async with running_runtime(checked, Catalog(), poll_interval=None) as runtime:
            assert runtime.economy.running
    shown = capsys.readouterr().err.splitlines() + [r.getMessage() for r in caplog.records]
    for name in names:
        assert sum(f"GAMEPAY_{name}" in line for line in shown) == 1, shown
