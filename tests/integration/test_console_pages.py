"""The console's pages over a real economy: overview, verify, players, orders, reconcile.

Real parts: a database of each backend, the KryptoGO sandbox over HTTP, the console served
through httpx's ASGI transport; every figure checked is one the test wrote through the services.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from gamepay import Ledger
from gamepay.audit import AuditLog
from tests.support.console import GEM, GOLD, ConsoleWorld, csrf_of, running_console, sign_in


async def _signed_in(world: ConsoleWorld) -> str:
    """Sign in; the overview's CSRF token."""
    await sign_in(world.http)
    return csrf_of((await world.http.get("/admin/")).text)


async def _shop(world: ConsoleWorld) -> tuple[str, str]:
    """alice gets 1000 gold and buys a sword with 500 of it; bob starts a crypto purchase.
    Returns (the completed order's id, the pending crypto order's id)."""
    economy = world.economy
    await economy.grant("alice", GOLD, 1000, grant_id="g-alice")
    bought = await economy.payments.buy_with_balance("alice", "sword", request_id="buy-1")
    pending = await economy.payments.purchase("bob", "sword", request_id="pay-1")
    return bought.id, pending.order_id


async def test_the_overview_counts_and_charts_what_happened(db_url: str) -> None:
    """Orders by status now, and five SVG charts over 14 days whose legends count today's
    orders by status and grants by asset."""
    async with running_console(db_url) as world:
        await _shop(world)
        await _signed_in(world)
        page = (await world.http.get("/admin/")).text
        assert page.count("<svg") == 5
        for title in (
            "Orders created, by status",
            "Grants (ledger transfers of kind grant), by asset",
            "Callbacks applied, by the status they moved to",
            "Withdrawals requested, by status",
            "Reward payouts paid, by program",
        ):
            assert f'aria-label="{title}"' in page
        orders = page.split('id="chart-orders"')[1].split("</figure>")[0]
        assert re.search(r"completed <b>1</b>", orders), orders[-400:]
        assert re.search(r"pending <b>1</b>", orders)
        today = datetime.now(UTC).date().isoformat()
        assert f"completed {today}: 1" in orders  # the bar's tooltip
        grants = page.split('id="chart-grants"')[1].split("</figure>")[0]
        assert "currency:gold <b>1</b>" in grants  # the gold grant (the sword is a grant too)
        assert "item:sword <b>1</b>" in grants
        assert "The ledger has not been verified from the console yet." in page


async def test_verify_now_records_a_result_every_replica_reads(db_url: str) -> None:
    """The button (POST + CSRF) runs verify and stores it; a ledger on another connection to the
    same database reads it back; without the CSRF token nothing runs."""
    async with running_console(db_url) as world:
        await _shop(world)
        csrf = await _signed_in(world)
        assert (await world.http.post("/admin/verify", data={})).status_code == 403
        assert await world.economy.ledger.last_verification() is None
        done = await world.http.post("/admin/verify", data={"csrf": csrf})
        assert (done.status_code, done.headers["location"]) == (303, "/admin/?verified=ok")
        page = (await world.http.get(done.headers["location"])).text
        assert "Verified just now: the ledger balances." in page
        assert re.search(r"Last verify: <b class=\"ok\">balanced</b>", page)
        other = Ledger(world.economy.store)
        seen = await other.last_verification()
        assert seen is not None
        assert (seen.ok, seen.by, seen.problem_count) == (True, "console", 0)
        assert seen.transfers_checked == 3  # the gold grant, the purchase, the sword grant
        assert f"{seen.transfers_checked} transfers checked" in page
        rows = await AuditLog(world.economy.store).page()
        assert [(r.action, r.target, r.result) for r in rows] == [
            ("ledger.verify", "ledger", "ok"),
            ("console.sign_in", "console", "ok"),
        ]
        assert rows[0].details == {"ok": True, "problems": 0}


async def test_players_shows_exact_balances_and_pages_history(db_url: str) -> None:
    """A 2-decimal currency shows exactly (123.45 gem); 30 grants page as 25 + 5 through the
    ledger's cursor; an unknown id lists the ids starting with it."""
    async with running_console(db_url) as world:
        await _shop(world)
        await world.economy.grant("alice", GEM, 12_300, grant_id="gem-0")
        for n in range(1, 30):
            await world.economy.grant("alice", GEM, 1 + (n == 1) * 44, grant_id=f"gem-{n}")
        await _signed_in(world)
        page = (await world.http.get("/admin/players", params={"id": "alice"})).text
        assert "Balances of <code>alice</code>" in page
        assert '<td class="num">123.73 gem</td>' in page  # 12300 + 44 + 1*29 hundredths
        assert '<td class="num">500 gold</td>' in page
        assert '<td class="num">1 sword</td>' in page
        first = page.split("<h2>History</h2>")[1].split("</table>")[0]
        assert first.count("<tr><td>") == 25
        older = re.search(r'href="(/admin/players\?id=alice&amp;cursor=[^"]+)">Older', page)
        assert older, page[-2000:]
        second = (await world.http.get(older.group(1).replace("&amp;", "&"))).text
        rest = second.split("<h2>History</h2>")[1].split("</table>")[0]
        assert rest.count("<tr><td>") == 33 - 25  # 30 gem + 1 gold grant + purchase + sword
        assert "Older</a>" not in second
        assert "+123 gem" in rest  # the first grant, oldest, on the last page
        missing = (await world.http.get("/admin/players", params={"id": "ali"})).text
        assert "No player <code>ali</code>." in missing
        assert 'href="/admin/players?id=alice"' in missing


async def test_orders_filter_by_status_and_day(db_url: str) -> None:
    """Status and day filters narrow the list; a bad status is 400."""
    async with running_console(db_url) as world:
        completed, pending = await _shop(world)
        await _signed_in(world)
        every = (await world.http.get("/admin/orders")).text
        assert completed in every
        assert pending in every
        only = (await world.http.get("/admin/orders", params={"status": "completed"})).text
        assert completed in only
        assert pending not in only
        tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
        none = (await world.http.get("/admin/orders", params={"from": tomorrow})).text
        assert "No order matches." in none
        today = datetime.now(UTC).date().isoformat()
        both = (await world.http.get("/admin/orders", params={"from": today, "to": today})).text
        assert completed in both
        assert pending in both
        assert (await world.http.get("/admin/orders", params={"status": "nope"})).status_code == 400
        assert (await world.http.get("/admin/orders", params={"from": "31/12"})).status_code == 400


async def test_reconcile_this_order_repairs_a_missed_payment(db_url: str) -> None:
    """bob paid but no callback reached us: the order page says pending; the reconcile button
    (POST + CSRF) fetches the intent, applies success and grants the sword."""
    async with running_console(db_url) as world:
        _, order_id = await _shop(world)
        order = await world.economy.payments.order(order_id)
        assert order.payment_intent_id is not None
        world.sandbox.sandbox.pay(order.payment_intent_id, "exact")
        await _signed_in(world)
        page = (await world.http.get(f"/admin/orders/{order_id}")).text
        assert order.payment_intent_id in page
        assert "<code>pending</code>" in page
        csrf = csrf_of(page)
        url = f"/admin/orders/{order_id}/reconcile"
        assert (await world.http.post(url, data={"csrf": "x" * 64})).status_code == 403
        done = await world.http.post(url, data={"csrf": csrf})
        assert done.status_code == 200
        assert "Reconciled:" in done.text
        assert "<code>success</code>" in done.text
        assert "<td>reconcile</td>" in done.text  # the status move, by its source
        assert (await world.economy.payments.order(order_id)).granted
        assert (await world.http.get("/admin/orders/no-such-order")).status_code == 404
        rows = await AuditLog(world.economy.store).page()
        assert (rows[0].action, rows[0].target) == ("orders.reconcile", order_id)
        assert "status_differs" in rows[0].details["mismatches"]  # what it found, kept
