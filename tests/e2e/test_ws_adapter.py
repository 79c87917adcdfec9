"""The websocket adapter end to end: the example shop (sandbox + services + adapter) on port 0,
driven by real websocket clients: at ``/ws`` of the shop's ASGI app (uvicorn), and for the tests
marked so also on the standalone ``websockets`` server.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from examples.shop.server import Shop, running_shop
from gamepay_ws import AdapterConfig, issue_token
from tests.support.mounted import check_mounted_beside_the_game
from tests.support.ws_client import Client, open_client

BOTH = pytest.mark.parametrize("shop", ["asgi", "standalone"], indirect=True)
"""Run the test against the ASGI endpoint and against the standalone websockets server."""


@pytest.fixture
async def shop(request: pytest.FixtureRequest) -> AsyncIterator[Shop]:
    """The demo shop on SQLite, on free ports (players at /ws, or standalone), stopped after."""
    config = AdapterConfig(auth_timeout=2.0, rate_burst=200, rate_per_second=200)
    standalone = getattr(request, "param", "asgi") == "standalone"
    async with running_shop(adapter_config=config, ws_port=0 if standalone else None) as running:
        assert running.ws_url.endswith("/ws") != standalone
        yield running


def _balance(reply: dict[str, object], asset: str) -> str:
    balances = reply["balances"]
    assert isinstance(balances, list)
    for entry in balances:
        if entry["asset"] == asset:
            return str(entry["available"])
    return "0"


async def _pay(shop: Shop, client: Client, sku: str | None = None, **top_up: str) -> str:
    """Buy ``sku`` (or top up) with crypto, pay it in the sandbox, wait for the success push."""
    if sku is not None:
        instructions = await client.ok("buy_with_crypto", sku=sku)
    else:
        instructions = await client.ok("top_up", **top_up)
    shop.sandbox.sandbox.pay(instructions["payment_intent_id"], "exact")
    order_id = str(instructions["order_id"])
    await client.wait_push(
        lambda p: (
            p.get("event") == "order_status_changed"
            and p["data"]["order_id"] == order_id
            and p["data"]["status"] == "success"
        )
    )
    return order_id


@BOTH
async def test_nothing_works_before_authenticate(shop: Shop) -> None:
    """Every operation is refused until a valid token arrives; then they work."""
    async with open_client(shop.ws_url) as client:
        for op in ("catalog", "balance", "history", "ping"):
            reply = await client.request(op)
            assert (reply["type"], reply["code"]) == ("error", "not_authenticated")
        reply = await client.request("buy_with_balance", sku="sword")
        assert reply["code"] == "not_authenticated"
        forged = issue_token("alice", "not-the-shop-secret-but-long-enough", 60)
        reply = await client.request("authenticate", token=forged)
        assert reply["code"] == "token_rejected"
        expired = issue_token("alice", shop.secret, 10, now=int(time.time()) - 3600)
        assert (await client.request("authenticate", token=expired))["code"] == "token_rejected"
        result = await client.ok("authenticate", token=shop.token("alice"))
        assert result["player_id"] == "alice"
        assert result["protocol"] == 2
        assert (await client.request("authenticate", token=shop.token("bob")))[
            "code"
        ] == "already_authenticated"
        await client.ok("ping")


@BOTH
async def test_bad_tokens_and_silence_close_with_1008(shop: Shop) -> None:
    """Three rejected tokens, or no authenticate within the timeout, close the connection."""
    async with open_client(shop.ws_url) as client:
        for _ in range(3):
            await client.send_raw(json.dumps({"type": "authenticate", "id": 1, "token": "x.y"}))
        replies, close = await client.until_closed()
        assert [r["code"] for r in replies] == ["token_rejected"] * 3
        assert (close.code, close.reason) == (1008, "authentication failed")
    async with open_client(shop.ws_url) as idle:
        replies, close = await idle.until_closed()
        assert replies == []
        assert (close.code, close.reason) == (1008, "authentication timeout")


async def test_every_operation(shop: Shop) -> None:
    """catalog, balance, both buys, top-up, withdraw, history and ping over one connection."""
    await shop.give_gold("alice")
    async with open_client(shop.ws_url, shop.token("alice")) as alice:
        catalog = await alice.ok("catalog")
        skus = {item["sku"]: item for item in catalog["items"]}
        assert skus["sword"]["balance_price"] == {
            "asset": "currency:gold",
            "code": "gold",
            "decimals": 0,
            "amount": "500",
        }
        assert skus["sword"]["grant"] == {
            "asset": "item:sword",
            "code": "sword",
            "decimals": 0,
            "amount": "1",
        }

        assert _balance(await alice.ok("balance"), "currency:gold") == "1000"
        bought = await alice.ok("buy_with_balance", sku="sword", request_id="buy-1")
        assert bought["status"] == "completed"
        again = await alice.ok("buy_with_balance", sku="sword", request_id="buy-1")
        assert again["order_id"] == bought["order_id"]  # same request id: charged once
        balances = await alice.ok("balance")
        assert _balance(balances, "currency:gold") == "500"
        assert _balance(balances, "item:sword") == "1"
        unsafe = await alice.request("buy_with_balance", sku="sword", request_id=None)
        assert unsafe["code"] == "request_id_required"  # nothing happened
        assert _balance(await alice.ok("balance"), "currency:gold") == "500"
        refused = await alice.request("buy_with_balance", sku="sword")
        refused = await alice.request("buy_with_balance", sku="sword")
        assert refused["code"] == "insufficient_funds"
        assert _balance(await alice.ok("balance"), "currency:gold") == "0"
        assert (await alice.request("buy_with_balance", sku="nope"))["code"] == "unknown_sku"

        instructions = await alice.ok("buy_with_crypto", sku="potion")
        assert instructions["chain"] == "arb"
        assert (instructions["code"], instructions["decimals"]) == ("USDT", 6)
        assert instructions["asset"] == "token:arb:" + instructions["token"].lower()
        assert instructions["amount"] == "1.5"
        assert instructions["deadline"] > time.time()
        assert instructions["address"].startswith("0x")

        await _pay(shop, alice, amount="325", currency="TWD")  # 10 USDT at 32.5 TWD
        token = shop.withdrawable[0]["asset"]
        assert _balance(await alice.ok("balance"), token) == "10"
        shop.sandbox.sandbox.fund("arb", "USDT", "1000")
        address = "0x" + "ab" * 20
        sent = await alice.ok(
            "withdraw", asset=token, amount="2.5", address=address, request_id="wd-1"
        )
        assert sent["status"] == "sent"
        assert (sent["amount"], sent["code"], sent["decimals"]) == ("2.5", "USDT", 6)
        replay = await alice.ok(
            "withdraw", asset=token, amount="2.5", address=address, request_id="wd-1"
        )
        assert replay["withdrawal_id"] == sent["withdrawal_id"]
        assert _balance(await alice.ok("balance"), token) == "7.5"
        bad = await alice.request("withdraw", asset=token, amount="1", address="0x12")
        assert bad["code"] == "invalid_address"
        precise = await alice.request("withdraw", asset=token, amount="0.0000001", address=address)
        assert precise["code"] == "amount_precision"
        floaty = await alice.request("withdraw", asset=token, amount=1.5, address=address)
        assert floaty["code"] == "amount_type"
        assert _balance(await alice.ok("balance"), token) == "7.5"

        history = await alice.ok("history", limit=100)
        kinds = {entry["event"] for entry in history["entries"]}
        assert {"order_status_changed", "asset_granted", "balance_changed"} <= kinds
        ids = [entry["event_id"] for entry in history["entries"]]
        assert ids == sorted(ids)
        page = await alice.ok("history", after=ids[1], limit=2)
        assert [e["event_id"] for e in page["entries"]] == ids[2:4]
        assert page["next_after"] == ids[3]
        await alice.ok("ping")
    assert (await shop.payments.ledger.verify()).ok


@BOTH
async def test_pushes_reach_every_connection_of_the_player(shop: Shop) -> None:
    """A purchase pushes to all of alice's connections and to none of bob's."""
    await shop.give_gold("alice")
    async with (
        open_client(shop.ws_url, shop.token("alice")) as phone,
        open_client(shop.ws_url, shop.token("alice")) as laptop,
        open_client(shop.ws_url, shop.token("bob")) as bob,
    ):
        order_id = await _pay(shop, phone, "sword")
        for device in (phone, laptop):
            granted = await device.wait_push(lambda p: p.get("event") == "asset_granted")
            assert granted["data"]["order_id"] == order_id
            assert granted["data"]["asset"] == "item:sword"
        bought = await laptop.ok("buy_with_balance", sku="shield")
        await phone.wait_push(
            lambda p: (
                p.get("event") == "asset_granted" and p["data"]["order_id"] == bought["order_id"]
            )
        )
        await bob.ok("ping")
        await asyncio.sleep(0.2)
        await bob.ok("ping")
        assert bob.events() == []
        ids = [p["event_id"] for p in phone.events()]
        assert len(ids) == len(set(ids))  # never the same push twice


async def test_replay_after_reconnect(shop: Shop) -> None:
    """Events committed while a player was away are replayed after ``last_event_id``, once."""
    async with open_client(shop.ws_url, shop.token("alice")) as first:
        instructions = await first.ok("buy_with_crypto", sku="sword")
        seen = await first.wait_push(lambda p: p.get("event") == "order_status_changed")
        last_seen = seen["event_id"]
    shop.sandbox.sandbox.pay(instructions["payment_intent_id"], "exact")
    await shop.sandbox.sandbox.flush_callbacks()
    async with open_client(shop.ws_url, shop.token("alice"), last_event_id=last_seen) as back:
        done = await back.wait_push(lambda p: p["type"] == "replay_complete")
        replayed = back.events()
        assert replayed, "the payment's events were replayed"
        assert all(p["event_id"] > last_seen for p in replayed)
        assert [p["event_id"] for p in replayed] == sorted({p["event_id"] for p in replayed})
        assert done["last_event_id"] == replayed[-1]["event_id"]
        assert any(
            p["event"] == "asset_granted" and p["data"]["order_id"] == instructions["order_id"]
            for p in replayed
        )
        statuses = [p["data"]["status"] for p in replayed if p["event"] == "order_status_changed"]
        assert statuses[-1] == "success"
    async with open_client(shop.ws_url, shop.token("alice"), last_event_id=0) as everything:
        await everything.wait_push(lambda p: p["type"] == "replay_complete")
        assert everything.events()[0]["event_id"] == seen["event_id"] or (
            everything.events()[0]["event_id"] < seen["event_id"]
        )


async def test_a_player_cannot_touch_another_players_account(shop: Shop) -> None:
    """Whatever ids bob sends, he sees and moves only his own things."""
    await shop.give_gold("alice")
    await shop.give_gold("bob", 100)
    async with (
        open_client(shop.ws_url, shop.token("alice")) as alice,
        open_client(shop.ws_url, shop.token("bob"), last_event_id=0) as bob,
    ):
        alice_order = await alice.ok("buy_with_balance", sku="sword", request_id="shared-key")
        # bob names alice in every way a message could carry an id: all refused or ignored
        for extra in ({"player_id": "alice"}, {"player": "alice"}, {"account": "player:alice"}):
            reply = await bob.request("balance", **extra)
            assert reply["code"] == "bad_message"
        # the same request id is scoped per player: bob's buy is his own (and he cannot afford)
        reply = await bob.request("buy_with_balance", sku="sword", request_id="shared-key")
        assert reply["code"] == "insufficient_funds"
        bob_buy = await bob.ok("buy_with_balance", sku="potion", request_id="shared-key")
        assert bob_buy["order_id"] != alice_order["order_id"]
        history = await bob.ok("history", after=0, limit=100)
        assert all(e["data"].get("order_id") != alice_order["order_id"] for e in history["entries"])
        assert _balance(await bob.ok("balance"), "currency:gold") == "40"
        assert _balance(await alice.ok("balance"), "currency:gold") == "500"
        assert all(p["data"].get("order_id") != alice_order["order_id"] for p in bob.events())


@BOTH
async def test_rate_limit_refuses_then_closes_and_others_carry_on(shop: Shop) -> None:
    """A flood gets rate_limited errors, then 1008; another connection keeps working."""
    shop.adapter.config = AdapterConfig(rate_burst=5, rate_per_second=0.001, max_rate_violations=10)
    async with (
        open_client(shop.ws_url, shop.token("alice")) as flooder,
        open_client(shop.ws_url, shop.token("bob")) as calm,
    ):
        # 24 frames: 15 reach the close, 9 more are still queued then. Fewer than the standalone
        # server's max_queue (32): with more, a slow server stops reading, never reads the
        # client's close reply, and the TCP close waits its 10 s close_timeout.
        for i in range(24):
            await flooder.send_raw(json.dumps({"type": "ping", "id": i}))
        replies, close = await flooder.until_closed()
        codes = [r.get("code") for r in replies]
        assert codes.count("rate_limited") == 10
        assert [r["type"] for r in replies[:4]] == ["ping_result"] * 4  # 5 = auth + 4 pings
        assert (close.code, close.reason) == (1008, "rate limit exceeded")
        assert (await calm.ok("ping"))["type"] == "ping_result"


@BOTH
async def test_oversized_frame_closes_1009_and_others_carry_on(shop: Shop) -> None:
    """A frame above max_size closes that connection with 1009; the server keeps serving."""
    async with (
        open_client(shop.ws_url, shop.token("alice")) as big,
        open_client(shop.ws_url, shop.token("bob")) as other,
    ):
        await big.send_raw(json.dumps({"type": "ping", "id": 1, "pad": "x" * 100_000}))
        replies, close = await big.until_closed()
        assert replies == []
        assert close.code == 1009
        await other.ok("ping")
    async with connect(shop.ws_url) as fresh:
        await fresh.send(json.dumps({"type": "ping", "id": 1}))
        assert json.loads(await fresh.recv())["code"] == "not_authenticated"


@BOTH
async def test_replay_longer_than_the_outbox_arrives_whole(shop: Shop) -> None:
    """A replay of many more events than the per-connection queue holds waits for the writer."""
    shop.adapter.config = AdapterConfig(outbox_size=8)
    await shop.give_gold("alice")
    for i in range(15):
        await shop.payments.buy_with_balance("alice", "potion", request_id=f"many-{i}")
    stored = await shop.payments.events_after("alice", 0, 1000)
    assert len(stored) >= 45
    async with open_client(shop.ws_url, shop.token("alice"), last_event_id=0) as client:
        done = await client.wait_push(lambda p: p["type"] == "replay_complete")
        assert [p["event_id"] for p in client.events()] == [e.id for e in stored]
        assert done["last_event_id"] == stored[-1].id


async def test_mounted_in_the_games_own_server(shop: Shop) -> None:
    """The game routes /gamepay to the adapter's handler; its own path keeps working."""

    async def game(connection: ServerConnection) -> None:
        assert connection.request is not None
        if connection.request.path == "/gamepay":
            await shop.adapter.handler(connection)
            return
        async for message in connection:  # the game's own protocol: an echo here
            await connection.send(message)

    async with serve(game, "127.0.0.1", 0, max_size=2**20) as server:
        port = server.sockets[0].getsockname()[1]
        await check_mounted_beside_the_game(
            shop, f"ws://127.0.0.1:{port}/gamepay", f"ws://127.0.0.1:{port}/game"
        )


async def test_withdrawal_status_is_pushed_and_replayed(shop: Shop) -> None:
    """A withdrawal's status change is pushed live and comes back in a replay."""
    async with open_client(shop.ws_url, shop.token("alice")) as alice:
        await _pay(shop, alice, amount="325", currency="TWD")
        shop.sandbox.sandbox.fund("arb", "USDT", "1000")
        sent = await alice.ok(
            "withdraw", asset=shop.withdrawable[0]["asset"], amount="1", address="0x" + "cd" * 20
        )
        pushed = await alice.wait_push(
            lambda p: (
                p.get("event") == "withdrawal_status_changed" and p["data"].get("status") == "sent"
            )
        )
        assert pushed["data"]["withdrawal_id"] == sent["withdrawal_id"]
        data = pushed["data"]
        assert (data["amount"], data["amount_base_units"]) == ("1", "1000000")
        assert (data["asset"], data["code"], data["decimals"]) == (sent["asset"], "USDT", 6)
        held = await alice.wait_push(
            lambda p: (
                p.get("event") == "balance_changed"
                and p["data"].get("withdrawal_id") == sent["withdrawal_id"]
            )
        )
        assert (held["data"]["delta"], held["data"]["delta_base_units"]) == ("-1", "-1000000")
        assert (held["data"]["available"], held["data"]["code"]) == ("9", "USDT")
    async with open_client(shop.ws_url, shop.token("alice"), last_event_id=0) as again:
        await again.wait_push(lambda p: p["type"] == "replay_complete")
        assert pushed["event_id"] in {p["event_id"] for p in again.events()}


async def test_the_requester_hears_the_reply_before_the_pushes(shop: Shop) -> None:
    """A buy's reply reaches the buyer before the pushes that buy caused, which follow."""
    await shop.give_gold("dora")
    async with open_client(shop.ws_url, shop.token("dora")) as dora:
        bought = await dora.ok("buy_with_balance", sku="potion")
        mine = [p for p in dora.events() if p["data"].get("order_id") == bought["order_id"]]
        assert mine == []
        granted = await dora.wait_push(
            lambda p: (
                p.get("event") == "asset_granted" and p["data"]["order_id"] == bought["order_id"]
            )
        )
        assert granted["data"]["asset"] == "item:potion"


async def test_protocol_2_refusals_keep_the_connection_open(shop: Shop) -> None:
    """A lone-surrogate id, duplicate keys, NaN and bad tokens get typed errors on one connection,
    which then authenticates; a buy without request_id is refused and changes nothing."""
    await shop.give_gold("erin")
    async with connect(shop.ws_url) as ws:

        async def answer(frame: str) -> dict[str, object]:
            await ws.send(frame)
            reply: dict[str, object] = json.loads(await ws.recv())
            return reply

        surrogate = await answer('{"type":"ping","id":"\\ud800"}')
        assert (surrogate["id"], surrogate["code"]) == (None, "bad_message")
        assert (await answer('{"type":"ping","type":"balance","id":1}'))["code"] == "bad_json"
        assert (await answer('{"type":"ping","id":NaN}'))["code"] == "bad_json"
        for token in ("", "x" * 3000):
            reply = await answer(json.dumps({"type": "authenticate", "id": 2, "token": token}))
            assert (reply["id"], reply["code"]) == (2, "token_rejected")
        frame = {"type": "authenticate", "id": 3, "token": shop.token("erin")}
        assert (await answer(json.dumps(frame)))["protocol"] == 2
        unsafe = await answer('{"type":"buy_with_balance","id":4,"sku":"potion"}')
        assert (unsafe["id"], unsafe["code"]) == (4, "request_id_required")
        gold = {"asset": "currency:gold", "code": "gold", "decimals": 0}
        balance = await answer('{"type":"balance","id":5}')
        assert balance["balances"] == [{**gold, "available": "1000", "held": "0"}]
    orders = await shop.payments.events_after("erin", 0, 100)
    assert [e.type for e in orders] == []
