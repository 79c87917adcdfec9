"""Chaos run of purchases, top-ups and withdrawals through the services, over real HTTP.

Everything goes through the real pieces: ``Payments`` and ``Withdrawals`` on a store (SQLite
file by default, ``--db`` for PostgreSQL), a ``KryptoGOClient`` talking HTTP to a served sandbox,
and a real HTTP callback endpoint mounting ``Payments.handle_callback``. The sandbox injects
faults: callbacks dropped, duplicated, reordered and delayed; creates and transfers that commit
and then lose their answer (504); occasional 5xx on reads. The bench adds forged callbacks
(claiming success with a large amount for intents that are not paid) and pays every way:
exact, short (then refunded), excess, late, and not at all (expired).

Then it expires what is left, polls, reconciles payments and withdrawals, and checks against the
sandbox (the truth): orders granted exactly when the API says success, no double grants, no
grant from a forged callback, no transfer executed twice, no unit lost (money the API received is
settled exactly once; every withdrawal's funds are sent once, back with the player, or still
held), the ledger verifies.

Throughput: ``callbacks_per_s`` is fresh success callbacks handled per second (each one fetched
back from the API over HTTP and applied: ledger batch + order + log + outbox in one transaction),
8 in flight, next to a baseline of the same POSTs answered by a bare endpoint in this process.

Usage: ``python bench/payments.py [--quick] [--db URL] [--seed N]``; the last line is JSON
(``ok`` is true when every check holds; the exit status is 1 otherwise).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.* as bench/scale.py does

from bench.withdrawals import transfer_audit
from gamepay.core.accounts import player_account
from gamepay.core.assets import Token
from gamepay.errors import InsufficientFunds, OutcomeUnknownError
from gamepay.kryptogo.client import KryptoGOClient
from gamepay.kryptogo.models import PaymentIntent, PaymentStatus
from gamepay.kryptogo.retry import RetryPolicy
from gamepay.ledger import Ledger
from gamepay.payments import (
    Catalog,
    CatalogItem,
    Grant,
    Payments,
    PaymentsConfig,
)
from gamepay.payments.decide import paid_total
from gamepay.sandbox import Faults, SandboxConfig
from gamepay.store import Store
from gamepay.testing import (
    callback_body,
    callback_endpoint,
    callback_recorder,
    forged_callback,
    fresh_postgres_database,
    running_sandbox,
    sqlite_url,
)
from gamepay.withdrawals import Withdrawals, WithdrawalsConfig

USDT = Token("arb", "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9", "USDT", 6)
CATALOG = Catalog(
    items=(
        CatalogItem(
            sku="sword",
            title="Iron sword",
            price="300.0",
            currency="TWD",
            grant=Grant(kind="item", code="sword", amount=1),
        ),
        CatalogItem(
            sku="gems",
            title="500 gems",
            price="4.99",
            currency="USD",
            grant=Grant(kind="currency", code="gems", amount=500),
        ),
    )
)
GRANTS = {"sword": ("item:sword", 1), "gems": ("currency:gems", 500)}
ADDRESS = "0x" + "ab" * 20
IN_FLIGHT = 8


async def _with_retries(call: Any, attempts: int = 6) -> Any:
    """Repeat a purchase whose outcome is unknown (same request id: resolved, never doubled)."""
    for attempt in range(attempts):
        try:
            return await call()
        except OutcomeUnknownError:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.01)
    raise AssertionError("unreachable")


async def _gather_limited(jobs: list[Any], limit: int = IN_FLIGHT) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(job: Any) -> Any:
        async with gate:
            return await job

    return await asyncio.gather(*(one(j) for j in jobs))


async def chaos(args: argparse.Namespace, db_url: str) -> dict[str, Any]:
    """The fault-injected run and its checks."""
    rng = random.Random(args.seed)
    faults = Faults(
        seed=args.seed,
        drop_rate=0.2,
        duplicate_rate=0.3,
        reorder=0.3,
        delay=(0.0, 0.05),
        delay_rate=0.3,
        api_error_rate=0.02,
        api_error_statuses=(500, 503),
        timeout_after_commit_rate=0.1,
        timeout_mode="504",
    )
    store = await Store.connect(db_url)
    await store.migrate()
    ledger = Ledger(store)
    started = time.perf_counter()
    async with running_sandbox(SandboxConfig(seed=args.seed), faults) as api:
        client = KryptoGOClient(
            client_id=api.client_id,
            api_key=api.api_key,
            origin=api.origin,
            base_url=api.url,
            timeout=5.0,
            retry=RetryPolicy(max_attempts=5, base_delay=0.01, max_delay=0.05),
        )
        sandbox = api.sandbox
        async with callback_endpoint() as endpoint, httpx.AsyncClient(timeout=30) as http:
            payments = Payments(
                store,
                ledger,
                client,
                CATALOG,
                config=PaymentsConfig(callback_url=endpoint.url, poll_base=0.01, poll_cap=0.05),
            )
            endpoint.handler = payments.handle_callback
            players = [f"p{i}" for i in range(args.players)]
            forged: list[str] = []

            async def one(i: int) -> tuple[str, str]:
                player = rng.choice(players)
                request = f"req-{i}"
                if i % 4 == 0:
                    pay = await _with_retries(
                        lambda: payments.top_up(player, "3", "USD", request_id=request)
                    )
                else:
                    sku = "sword" if i % 2 else "gems"
                    pay = await _with_retries(
                        lambda: payments.purchase(player, sku, request_id=request)
                    )
                intent = sandbox.get_intent(pay.payment_intent_id).to_model()
                if rng.random() < 0.2:  # somebody forges a success before anything is paid
                    body = forged_callback(
                        intent,
                        status="success",
                        received_amount=str(intent.crypto_amount * 10),
                        aggregated_amount=str(intent.crypto_amount * 10),
                    )
                    await http.post(endpoint.url, content=body)
                    forged.append(pay.order_id)
                mode = rng.choices(
                    ["exact", "excess", "short", "late", "none", "combined"],
                    [55, 10, 10, 10, 10, 5],
                )[0]
                if mode in ("exact", "excess"):
                    sandbox.pay(pay.payment_intent_id, mode)
                elif mode == "combined":
                    sandbox.pay(pay.payment_intent_id, "short", final=False)
                    sandbox.pay(pay.payment_intent_id, "exact")
                elif mode == "short":
                    sandbox.pay(pay.payment_intent_id, "short")
                    if rng.random() < 0.7:
                        sandbox.refund(pay.payment_intent_id)
                elif mode == "late":
                    sandbox.pay(pay.payment_intent_id, "exact", late=True)
                else:
                    sandbox.expire(pay.payment_intent_id)
                return pay.order_id, pay.payment_intent_id

            placed = await _gather_limited([one(i) for i in range(args.orders)])
            await sandbox.callbacks.flush(60)
            recon = await payments.reconcile(0, sandbox.now() + 3600)  # repairs dropped callbacks
            await payments.poll_due(limit=10_000)

            # Withdrawals: players send part of their token balance out, under transfer faults.
            sandbox.fund("arb", "USDT", "1000000")
            withdrawals = Withdrawals(
                store, ledger, client, config=WithdrawalsConfig(tokens={USDT.id: USDT})
            )
            await withdrawals.prepare()
            wanted = []
            for n, player in enumerate(players):
                balance = (await ledger.balance(player_account(player), USDT.id)).available
                if balance >= 1_000_000:
                    wanted.append((player, balance // 2, f"wd-{n}-a"))
                    wanted.append((player, balance // 4, f"wd-{n}-b"))
            wanted = wanted[: args.withdrawals]

            async def withdraw(player: str, amount: int, request: str) -> None:
                with contextlib.suppress(InsufficientFunds):
                    await withdrawals.withdraw(player, USDT.id, amount, ADDRESS, request_id=request)

            await _gather_limited([withdraw(*w) for w in wanted])
            await withdrawals.reconcile_unknown(sandbox.transfers.records())
            chaos_seconds = time.perf_counter() - started

            figures = await _check(payments, withdrawals, ledger, sandbox, placed, forged, players)
            figures.update(
                reconcile_mismatches=len(recon.mismatches),
                reconcile_unrepaired=sum(1 for m in recon.mismatches if not m.repaired),
                reconcile_repaired=recon.repaired,
                callbacks_received=len(endpoint.answered),
                chaos_seconds=round(chaos_seconds, 2),
            )
            figures["callbacks_per_s"], figures["baseline_callbacks_per_s"] = await _throughput(
                payments, sandbox, http, args.throughput
            )
        await client.aclose()
    await store.close()
    return figures


async def _check(
    payments: Payments,
    withdrawals: Withdrawals,
    ledger: Ledger,
    sandbox: Any,
    placed: list[tuple[str, str]],
    forged: list[str],
    players: list[str],
) -> dict[str, Any]:
    """Compare every order and withdrawal with the sandbox's truth."""
    paid_at_api = granted = mismatched = lost = forged_grants = 0
    expected: Counter[tuple[str, str]] = Counter()
    for order_id, intent_id in placed:
        order = await payments.order(order_id)
        api: PaymentIntent = sandbox.get_intent(intent_id).to_model()
        success = api.status is PaymentStatus.SUCCESS
        paid_at_api += success
        granted += order.granted
        if order.granted != success or str(order.status) != str(api.status):
            mismatched += 1
        if order.granted and not success:
            forged_grants += order_id in forged
        if success and order.sku is not None:
            asset, amount = GRANTS[order.sku]
            expected[(order.player_id, asset)] += amount
        if api.status in (PaymentStatus.SUCCESS, PaymentStatus.EXPIRED):
            due = max(paid_total(api), api.crypto_amount if success else 0)
            lost += abs(due - order.settled_amount)
    double = 0
    for player in players:
        for asset, _ in GRANTS.values():
            try:
                held = (await ledger.balance(player_account(player), asset)).available
            except Exception:
                held = 0
            double += max(0, held - expected[(player, asset)])
            lost += max(0, expected[(player, asset)] - held)
    records = sandbox.transfers.records()
    executed_ids = {r.transfer_id for r in records}
    listed = await withdrawals.list()
    twice, lost_on_chain = transfer_audit(listed, records)
    lost += lost_on_chain
    for w in listed:
        hold = await ledger.get_hold(w.hold_id)
        status = str(w.status)
        if status == "sent":
            ok = w.transfer_id in executed_ids and str(hold.status) == "posted"
        elif status == "failed":
            ok = str(hold.status) == "voided"  # paid anyway: counted by transfer_audit
        else:  # unknown / held / sending: the funds must still be held
            ok = str(hold.status) == "pending"
        if not ok:
            lost += w.amount
    report = await ledger.verify()
    return {
        "orders": len(placed),
        "paid_at_api": paid_at_api,
        "granted": granted,
        "double_grants": double,
        "forged_grants": forged_grants,
        "forged_callbacks": len(forged),
        "orders_not_matching_api": mismatched,
        "withdrawals": len(listed),
        "withdrawals_sent": sum(1 for w in listed if str(w.status) == "sent"),
        "transfers_executed_twice": twice,
        "lost_units": lost,
        "ledger_verified": report.ok,
    }


async def _throughput(
    payments: Payments, sandbox: Any, http: httpx.AsyncClient, count: int
) -> tuple[float, float]:
    """Fresh success callbacks per second through the real endpoint, and a bare baseline."""
    quiet = Payments(
        payments.store,
        payments.ledger,
        payments.client,
        payments.catalog,
        config=payments.config.model_copy(update={"callback_url": None}),
    )
    sandbox.set_faults(None)
    bodies = []
    for i in range(count):
        pay = await quiet.purchase(f"t{i % 20}", "sword")
        bodies.append(json.dumps(callback_body(sandbox.pay(pay.payment_intent_id))).encode())
    async with callback_endpoint(payments.handle_callback) as endpoint:
        started = time.perf_counter()
        answers = await _gather_limited([http.post(endpoint.url, content=b) for b in bodies])
        ours = time.perf_counter() - started
    assert all(a.status_code == 200 and a.json()["result"] == "applied" for a in answers)
    async with callback_recorder() as bare:
        started = time.perf_counter()
        await _gather_limited([http.post(bare.url, content=b) for b in bodies])
        base = time.perf_counter() - started
    return round(count / ours, 1), round(count / base, 1)


def main() -> None:
    """Parse arguments, run, print figures and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small run (< 60 s)")
    parser.add_argument(
        "--db",
        help="a SQLite URL, or a PostgreSQL server URL (a throwaway database is created on it); "
        "default: a temporary SQLite file",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    args.orders = 150 if args.quick else 1000
    args.players = 20 if args.quick else 100
    args.withdrawals = 30 if args.quick else 200
    args.throughput = 100 if args.quick else 500
    logging.basicConfig(level=logging.ERROR)  # the injected faults log warnings by design

    async def run() -> dict[str, Any]:
        if args.db and args.db.startswith("postgres"):
            async with fresh_postgres_database(args.db) as url:
                return await chaos(args, url)
        with tempfile.TemporaryDirectory() as tmp:
            return await chaos(args, args.db or sqlite_url(Path(tmp) / "bench.db"))

    started = time.perf_counter()
    figures = asyncio.run(run())
    figures["seconds"] = round(time.perf_counter() - started, 2)
    figures["backend"] = "postgresql" if args.db and args.db.startswith("postgres") else "sqlite"
    figures["callbacks_vs_bare_endpoint"] = round(
        figures["callbacks_per_s"] / figures["baseline_callbacks_per_s"], 3
    )
    for key, value in figures.items():
        print(f"{key:>28}: {value}")
    ok = (
        figures["granted"] == figures["paid_at_api"]
        and figures["double_grants"] == 0
        and figures["forged_grants"] == 0
        and figures["transfers_executed_twice"] == 0
        and figures["lost_units"] == 0
        and figures["ledger_verified"]
    )
    figures["ok"] = ok
    print(json.dumps(figures, sort_keys=True))
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
