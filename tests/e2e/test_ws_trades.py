"""Trades over real websockets against a real shop server: two players trade a sword for gold
and both are pushed each step; refusals come back as typed error codes; on PostgreSQL, 100
accepts of one trade sent over 20 connections to two replicas settle it exactly once."""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

import pytest

from examples.shop.server import Shop, running_shop
from gamepay.testing import fresh_postgres_database, running_sandbox
from gamepay_ws import AdapterConfig
from tests.support.ws_client import Client, open_client

SWORD = [{"asset": "item:sword", "amount": "1"}]


def gold_for(amount: str) -> list[dict[str, str]]:
    """A side of ``amount`` gold."""
    return [{"asset": "currency:gold", "amount": amount}]


async def holdings(client: Client) -> dict[str, tuple[str, str]]:
    """The player's (available, held) per asset, as the server reports them."""
    reply = await client.ok("balance")
    return {b["asset"]: (b["available"], b["held"]) for b in reply["balances"]}


def trade_push(status: str, trade_id: str) -> Any:
    """A matcher for the trade_changed push of ``trade_id`` reaching ``status``."""
    return lambda p: (
        p.get("event") == "trade_changed"
        and p["data"]["trade_id"] == trade_id
        and p["data"]["status"] == status
    )


async def armed(shop: Shop, alice: Client) -> None:
    """Alice and bob start with 1000 gold; alice buys a sword with 500 of hers."""
    await shop.give_gold("alice")
    await shop.give_gold("bob")
    await alice.ok("buy_with_balance", sku="sword")


async def test_two_players_trade_over_websockets_and_both_are_pushed() -> None:
    """Offer (sword held), bob accepts: sword to bob, 200 gold to alice; pushes to both."""
    async with (
        running_shop() as shop,
        open_client(shop.ws_url, shop.token("alice")) as alice,
        open_client(shop.ws_url, shop.token("bob")) as bob,
        open_client(shop.ws_url, shop.token("carol")) as carol,
    ):
        await armed(shop, alice)
        offered = await alice.ok(
            "trade_offer", to_player="bob", give=SWORD, want=gold_for("200"), expires_in=600
        )
        trade = offered["trade"]
        assert (trade["status"], trade["role"], trade["to_player"]) == ("open", "proposer", "bob")
        assert trade["want"] == [
            {"asset": "currency:gold", "code": "gold", "decimals": 0, "amount": "200"}
        ]
        assert (await holdings(alice))["item:sword"] == ("0", "1")
        await bob.wait_push(trade_push("open", trade["trade_id"]))
        listed = await bob.ok("trade_list")
        assert [(t["trade_id"], t["role"]) for t in listed["trades"]] == [
            (trade["trade_id"], "recipient")
        ]
        refused = await carol.request("trade_accept", trade_id=trade["trade_id"])
        assert refused["code"] == "trade_forbidden"
        own = await alice.request("trade_accept", trade_id=trade["trade_id"])
        assert own["code"] == "trade_forbidden"
        accepted = await bob.ok("trade_accept", trade_id=trade["trade_id"], request_id="acc-1")
        assert accepted["trade"]["status"] == "accepted"
        resent = await bob.ok("trade_accept", trade_id=trade["trade_id"], request_id="acc-1")
        assert resent["trade"] == accepted["trade"]
        twice = await bob.request("trade_accept", trade_id=trade["trade_id"], request_id="acc-2")
        assert twice["code"] == "trade_closed"
        for player in (alice, bob):
            push = await player.wait_push(trade_push("accepted", trade["trade_id"]))
            assert push["data"]["give"][0]["amount"] == "1"
        assert (await holdings(alice))["currency:gold"] == ("700", "0")
        assert (await holdings(alice))["item:sword"] == ("0", "0")
        assert (await holdings(bob))["item:sword"] == ("1", "0")
        assert (await holdings(bob))["currency:gold"] == ("800", "0")
        assert (await shop.economy.ledger.verify()).ok


async def test_trade_refusals_are_typed_over_the_protocol() -> None:
    """Short funds name the asset, bad input is typed, decline and cancel release the sword."""
    async with (
        running_shop() as shop,
        open_client(shop.ws_url, shop.token("alice")) as alice,
        open_client(shop.ws_url, shop.token("bob")) as bob,
    ):
        await armed(shop, alice)
        for fields, code in (
            ({"to_player": "alice", "give": SWORD, "want": gold_for("1")}, "self_trade"),
            ({"to_player": "bob", "give": SWORD, "want": gold_for("0")}, "amount_range"),
            ({"to_player": "bob", "give": SWORD, "want": gold_for("1.5")}, "amount_precision"),
            (
                {
                    "to_player": "bob",
                    "give": SWORD,
                    "want": [{"asset": "currency:gold", "amount": 5}],
                },
                "amount_type",
            ),
            ({"to_player": "bob", "give": gold_for("5000"), "want": SWORD}, "insufficient_funds"),
            (
                {"to_player": "bob", "give": SWORD, "want": gold_for("1"), "request_id": None},
                "request_id_required",
            ),
        ):
            reply = await alice.request("trade_offer", **fields)
            assert reply["code"] == code, (fields, reply)
        costly = await alice.ok("trade_offer", to_player="bob", give=SWORD, want=gold_for("1500"))
        short = await bob.request("trade_accept", trade_id=costly["trade"]["trade_id"])
        assert short["code"] == "insufficient_funds"
        assert "currency:gold" in short["message"]
        assert "500" in short["message"]
        declined = await bob.ok("trade_decline", trade_id=costly["trade"]["trade_id"])
        assert declined["trade"]["status"] == "declined"
        again = await alice.ok("trade_offer", to_player="bob", give=SWORD, want=gold_for("5"))
        cancelled = await alice.ok("trade_cancel", trade_id=again["trade"]["trade_id"])
        assert cancelled["trade"]["status"] == "cancelled"
        assert (await holdings(alice))["item:sword"] == ("1", "0")
        missing = await bob.request("trade_accept", trade_id="trd_none")
        assert missing["code"] == "trade_not_found"
        assert (await bob.ok("trade_list"))["trades"] == []


async def test_trade_requests_are_rate_limited_like_every_request() -> None:
    """A burst of trade_list beyond the bucket gets rate_limited errors; the connection stays."""
    config = AdapterConfig(rate_burst=5, rate_per_second=1)
    async with (
        running_shop(adapter_config=config) as shop,
        open_client(shop.ws_url, shop.token("alice")) as alice,
    ):
        for n in range(10):
            await alice.ws.send(json.dumps({"type": "trade_list", "id": n}))
        replies = [await alice.next_reply() for _ in range(10)]
        codes = [r.get("code", r["type"]) for r in replies]
        assert codes.count("trade_list_result") <= 6
        assert "rate_limited" in codes


async def _accept_many(connections: list[Client], trade_id: str, per: int) -> list[dict[str, Any]]:
    """Pipeline ``per`` accepts (distinct request ids) on every connection; every reply."""

    async def one(client: Client, n: int) -> list[dict[str, Any]]:
        for k in range(per):
            frame = {
                "type": "trade_accept",
                "id": k,
                "trade_id": trade_id,
                "request_id": f"c{n}-{k}",
            }
            await client.ws.send(json.dumps(frame))
        return [await client.next_reply(within=60) for _ in range(per)]

    batches = await asyncio.gather(*(one(c, n) for n, c in enumerate(connections)))
    return [reply for batch in batches for reply in batch]


@pytest.mark.postgres
async def test_100_accepts_over_two_replicas_settle_once(pg_url: str) -> None:
    """Bob sends 100 accepts through 10 connections to each of two replicas: exactly one wins."""
    secret = secrets.token_hex(32)
    config = AdapterConfig(rate_burst=200, rate_per_second=200)
    async with (
        fresh_postgres_database(pg_url) as url,
        running_sandbox() as sandbox,
        running_shop(url, sandbox=sandbox, secret=secret, adapter_config=config) as a,
        running_shop(url, sandbox=sandbox, secret=secret, adapter_config=config) as b,
        open_client(a.ws_url, a.token("alice")) as alice,
    ):
        await armed(a, alice)
        offer = await alice.ok("trade_offer", to_player="bob", give=SWORD, want=gold_for("200"))
        trade_id = offer["trade"]["trade_id"]
        clients = [open_client(s.ws_url, s.token("bob")) for s in (a, b) for _ in range(10)]
        connections = [await c.__aenter__() for c in clients]
        try:
            replies = await _accept_many(connections, trade_id, 5)
        finally:
            for c in clients:
                await c.__aexit__(None, None, None)
        kinds = [r["type"] if r["type"] != "error" else r["code"] for r in replies]
        assert kinds.count("trade_accept_result") == 1, kinds
        assert kinds.count("trade_closed") == 99, kinds
        assert (await holdings(alice))["currency:gold"] == ("700", "0")
        await alice.wait_push(trade_push("accepted", trade_id))
        pushes = [p for p in alice.events() if p["data"].get("status") == "accepted"]
        assert len(pushes) == 1
        assert (await a.economy.ledger.verify()).ok
