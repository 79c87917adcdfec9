"""Concurrency: 50 copies of the same callback at once grant exactly once, on both backends."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from sqlalchemy import func, select

from gamepay.payments import repository as q
from gamepay.testing import callback_body
from tests.support.payments import PARTS, payments_env


@pytest.mark.parametrize("sku", ["sword", "starter"])
async def test_fifty_concurrent_callbacks_grant_once(db_url: str, sku: str) -> None:
    """50 identical success callbacks over real HTTP at once: one grant of the item (or of
    every part of the bundle), one status move."""
    async with payments_env(db_url, callbacks=False) as env:
        pay = await env.payments.purchase("zoe", sku)
        intent = env.sandbox.pay(pay.payment_intent_id, "exact")
        body = json.dumps(callback_body(intent)).encode()
        url = env.endpoint_url
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(limits=limits, timeout=60) as http:
            answers = await asyncio.gather(*(http.post(url, content=body) for _ in range(50)))
        assert [a.status_code for a in answers] == [200] * 50
        results = [a.json()["result"] for a in answers]
        assert results.count("applied") == 1
        assert results.count("duplicate") == 49
        for asset, amount in PARTS[sku].items():
            assert await env.balance("zoe", asset) == amount
        order = await env.order(pay.order_id)
        assert order.granted
        assert str(order.status) == "success"

        async def moves(conn: object) -> int:
            table = q.intent_log_table
            query = (
                select(func.count())
                .select_from(table)
                .where(table.c.order_id == pay.order_id, table.c.to_status == "success")
            )
            return int((await conn.execute(query)).scalar_one())  # type: ignore[attr-defined]

        assert await env.store.run(moves) == 1
        assert (await env.ledger.verify()).ok


async def test_concurrent_apply_of_many_orders(db_url: str) -> None:
    """Many orders settled concurrently (callbacks, polls and direct applies racing)."""
    async with payments_env(db_url, callbacks=False) as env:
        orders = [await env.payments.purchase(f"p{i % 3}", "sword") for i in range(12)]
        intents = [env.sandbox.pay(o.payment_intent_id, "exact") for o in orders]
        work = [env.payments.apply(i) for i in intents for _ in range(3)]
        await asyncio.gather(*work)
        total = sum([await env.balance(f"p{i}", "item:sword") for i in range(3)])
        assert total == 12
        assert (await env.ledger.verify()).ok
