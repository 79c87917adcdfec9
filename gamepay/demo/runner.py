"""The demo main job: everything gamepay does, on embedded defaults, with a crowd of players.

``running_demo`` starts the KryptoGO sandbox on a local port (with callback faults on:
duplicated, reordered and dropped callbacks), then exactly what ``gamepay serve`` runs
(``gamepay.cli.runtime``, handed in by the caller: the demo sits below the CLI) on a SQLite
file, pointed at the sandbox (it serves the storefront page at ``/``), plus the page's two
demo-only helpers.
``play`` sends the simulated players in over the websocket; each pays (or not) through the
sandbox's control API, as a wallet would. ``settle`` lets the world catch up (refunds, expiries,
reconciliation), ``pay_rewards`` pays a loyalty period, and ``summarize`` reads the outcome back
from the database and checks it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gamepay.config import Settings
from gamepay.core.accounts import AccountKind, pool_account, world_account
from gamepay.core.assets import Token
from gamepay.core.intents import OrderKind
from gamepay.core.money import format_amount
from gamepay.core.transfers import TransferKind, TransferSpec
from gamepay.demo.players import PlayerClient, ReplyError
from gamepay.demo.scenario import Behaviour, PlayerPlan
from gamepay.demo.summary import DemoSummary
from gamepay.demo.view import DemoView
from gamepay.errors import GamepayError
from gamepay.kryptogo.models import PaymentStatus
from gamepay.ledger import Ledger
from gamepay.metrics import Metrics
from gamepay.payments import Payments
from gamepay.payments.catalog import BalancePrice, Catalog, CatalogItem, Grant
from gamepay.payments.repository import order_counts
from gamepay.rewards import Program, RewardRunner, Schedule
from gamepay.sandbox import Faults, RunningSandbox, SandboxConfig
from gamepay.store import Store
from gamepay.testing import running_sandbox, sqlite_url
from gamepay.withdrawals import Withdrawals
from gamepay_ws import issue_token

__all__ = [
    "DemoOptions",
    "DemoRun",
    "DemoRuntime",
    "RuntimeStarter",
    "demo_catalog",
    "pay_rewards",
    "play",
    "running_demo",
    "settle",
    "summarize",
]

log = logging.getLogger("gamepay.demo")


class DemoRuntime(Protocol):
    """What the demo uses of a running gamepay process (``gamepay.cli.runtime.Runtime``)."""

    @property
    def settings(self) -> Settings:
        """The process's settings."""

    @property
    def store(self) -> Store:
        """Its store."""

    @property
    def ledger(self) -> Ledger:
        """Its ledger."""

    @property
    def payments(self) -> Payments:
        """Its payments service."""

    @property
    def withdrawals(self) -> Withdrawals:
        """Its withdrawals service."""

    @property
    def rewards(self) -> Mapping[str, RewardRunner]:
        """Its reward runners, by program name."""

    @property
    def http_url(self) -> str:
        """Where its HTTP app listens."""

    @property
    def ws_url(self) -> str:
        """Where its websocket adapter listens."""


RuntimeStarter = Callable[..., AbstractAsyncContextManager[DemoRuntime]]
"""Starts a gamepay process: ``gamepay.cli.runtime.running_runtime``'s signature."""

REWARD_PROGRAM = "demo-cashback"
REWARD_POOL = "demo-loyalty"


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """How big and how fast the demo is; ``quick`` is the CI-sized run."""

    quick: bool = False
    players: int | None = None
    seed: int = 7
    directory: Path | None = None
    host: str = "127.0.0.1"
    http_port: int = 0
    ws_port: int | None = None
    """Also a standalone websocket server on this port (the players use ``/ws`` either way)."""
    concurrency: int = 8
    faults: bool = True

    @property
    def crowd(self) -> int:
        """How many players: ``players`` or 12 (quick) / 40."""
        if self.players is not None:
            return self.players
        return 12 if self.quick else 40


def demo_catalog(token: Token) -> Catalog:
    """The demo shop: items priced in TWD/USD for crypto, and in ``token`` for balance buys."""

    def units(text: str) -> int:
        whole, _, frac = text.partition(".")
        return int(whole + frac.ljust(token.decimals, "0")[: token.decimals])

    def item(sku: str, title: str, price: str, currency: str, balance: str) -> CatalogItem:
        return CatalogItem(
            sku=sku,
            title=title,
            price=price,
            currency=currency,
            grant=Grant(kind="item", code=sku, amount=1),
            balance_price=BalancePrice(asset_id=token.id, amount=units(balance)),
        )

    return Catalog(
        items=(
            item("sword", "Iron sword", "300", "TWD", "5"),
            item("shield", "Oak shield", "150", "TWD", "3"),
            item("potion", "Health potion", "1.5", "USD", "1"),
        )
    )


@dataclass
class DemoRun:
    """A running demo: the sandbox, the gamepay runtime, and what the players did."""

    options: DemoOptions
    sandbox: RunningSandbox
    runtime: DemoRuntime
    token: Token
    directory: Path
    secret: str
    started: float = field(default_factory=time.monotonic)
    intents: dict[str, Behaviour] = field(default_factory=dict)
    to_refund: list[str] = field(default_factory=list)
    to_expire: list[str] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)
    pushes: Counter[str] = field(default_factory=Counter)
    rewards: dict[str, Any] = field(default_factory=dict)
    reconcile: dict[str, Any] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)

    @property
    def storefront_url(self) -> str:
        """Where the storefront page is served (the runtime serves it from the package)."""
        return f"{self.runtime.http_url}/"


def _payment_token(sandbox: RunningSandbox) -> Token:
    config = sandbox.sandbox.config
    chain, token = config.resolve_token(config.payment_token)
    return Token(chain.chain_id, token.address, token.symbol, token.decimals)


def _storefront_routes(holder: dict[str, DemoRun]) -> list[Route]:
    """The storefront page's two DEMO-ONLY helpers (player tokens for anyone, sandbox payments)."""

    async def session(request: Request) -> Response:
        run = holder["run"]
        player = request.query_params.get("player") or f"visitor-{secrets.token_hex(3)}"
        try:
            token = issue_token(player, run.secret, 3600)
        except GamepayError:
            return JSONResponse({"error": "bad player id"}, status_code=400)
        return JSONResponse(
            {
                "player_id": player,
                "token": token,
                "ws_url": run.runtime.ws_url,
                "withdrawable": [
                    {"asset": run.token.id, "symbol": run.token.symbol, "chain": run.token.chain_id}
                ],
            }
        )

    async def pay(request: Request) -> Response:
        run = holder["run"]
        try:
            body = json.loads(await request.body())
            intent_id = body["payment_intent_id"]
            mode = body.get("mode", "exact")
            if not isinstance(intent_id, str) or mode not in ("exact", "short", "excess"):
                raise ValueError(mode)
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "need payment_intent_id"}, status_code=400)
        try:
            intent = run.sandbox.sandbox.pay(intent_id, mode)
        except Exception as exc:
            return JSONResponse({"error": str(exc)[:200]}, status_code=400)
        return JSONResponse({"status": str(intent.status)})

    return [
        Route("/demo/session", session, methods=["GET"]),
        Route("/demo/pay", pay, methods=["POST"]),
    ]


@asynccontextmanager
async def running_demo(
    options: DemoOptions, start: RuntimeStarter, metrics: Metrics | None = None
) -> AsyncIterator[DemoRun]:
    """Start the sandbox and ``start``'s gamepay runtime on a fresh SQLite file; stop both on exit.

    ``start`` is ``gamepay.cli.runtime.running_runtime``: the CLI hands it in, so the demo never
    imports the CLI.
    """
    async with AsyncExitStack() as stack:
        directory = options.directory or Path(".gamepay")
        directory.mkdir(parents=True, exist_ok=True)
        db = directory / f"demo-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}.db"
        faults = (
            Faults(seed=options.seed, duplicate_rate=0.25, reorder=0.15, drop_rate=0.1)
            if options.faults
            else None
        )
        sandbox = await stack.enter_async_context(
            running_sandbox(
                SandboxConfig(seed=options.seed, callback_retry_base=0.05, strict=True), faults
            )
        )
        secret = secrets.token_hex(32)
        settings = Settings(
            _env_file=None,
            env="dev",
            database_url=sqlite_url(db),
            kryptogo_client_id=sandbox.client_id,
            kryptogo_api_key=sandbox.api_key,
            kryptogo_origin=sandbox.origin,
            kryptogo_base_url=sandbox.url,
            ws_token_secret=secret,
            host=options.host,
            http_port=options.http_port,
            ws_port=options.ws_port,
        )
        token = _payment_token(sandbox)
        holder: dict[str, DemoRun] = {}
        runtime = await stack.enter_async_context(
            start(
                settings,
                demo_catalog(token),
                metrics=metrics,
                tokens=[token],
                extra_routes=_storefront_routes(holder),
                poll_interval=1.0,
                programs=[_reward_program(token, datetime.now(UTC).date())],
            )
        )
        run = DemoRun(options, sandbox, runtime, token, directory, secret)
        holder["run"] = run
        # The organization's treasury pays withdrawals out on the (simulated) chain.
        sandbox.sandbox.fund(token.chain_id, token.symbol, "1000000")
        yield run


# -- the players ----------------------------------------------------------------------------------
async def _play_one(run: DemoRun, plan: PlayerPlan, view: DemoView) -> None:
    sandbox = run.sandbox.sandbox
    token = issue_token(plan.player_id, run.secret, 3600)
    pace = random.Random(f"{run.options.seed}:{plan.player_id}")
    async with PlayerClient(run.runtime.ws_url, token) as player:
        for number, step in enumerate(plan.steps):
            if not run.options.quick:
                await asyncio.sleep(pace.uniform(0.3, 1.5))  # a person, not a script
            behaviour = step.behaviour
            try:
                if behaviour is Behaviour.TOP_UP:
                    reply = await player.request(
                        "top_up",
                        amount=step.fiat,
                        currency="TWD",
                        request_id=f"{plan.player_id}-t{number}",
                    )
                    view.bump("intents")
                    sandbox.pay(reply["payment_intent_id"], "exact")
                    view.bump("top_ups")
                    await player.wait_for_push("balance_changed", order_id=reply["order_id"])
                elif behaviour is Behaviour.BUY_WITH_BALANCE:
                    await player.request(
                        "buy_with_balance", sku=step.sku, request_id=f"{plan.player_id}-{number}"
                    )
                    view.bump("balance_buys")
                elif behaviour is Behaviour.WITHDRAW:
                    await player.request(
                        "withdraw",
                        asset=run.token.id,
                        amount="2",
                        address=plan.wallet,
                        request_id=f"{plan.player_id}-w{number}",
                    )
                    view.bump("withdrawals")
                else:
                    reply = await player.request(
                        "buy_with_crypto", sku=step.sku, request_id=f"{plan.player_id}-c{number}"
                    )
                    view.bump("intents")
                    intent_id = reply["payment_intent_id"]
                    run.intents[intent_id] = behaviour
                    _pay(run, intent_id, behaviour, view)
            except ReplyError as exc:
                run.refused[exc.code] += 1
                view.bump("refused")
                log.info("%s: %s refused: %s", plan.player_id, behaviour, exc.code)
        await asyncio.sleep(0.05)  # let the last pushes arrive
        run.pushes.update(player.push_counts)
        view.bump("pushes", sum(player.push_counts.values()))


def _pay(run: DemoRun, intent_id: str, behaviour: Behaviour, view: DemoView) -> None:
    """Act as the player's wallet: pay the intent as the behaviour says (or not at all)."""
    sandbox = run.sandbox.sandbox
    if behaviour is Behaviour.BUY_EXACT:
        sandbox.pay(intent_id, "exact")
        view.bump("paid_exact")
    elif behaviour is Behaviour.BUY_LATE:
        sandbox.pay(intent_id, "exact", late=True)
        view.bump("paid_late")
    elif behaviour is Behaviour.BUY_SHORT:
        sandbox.pay(intent_id, "short")
        run.to_refund.append(intent_id)
        view.bump("paid_short")
    elif behaviour is Behaviour.BUY_TWICE:
        sandbox.pay(intent_id, "exact")
        sandbox.pay(intent_id, "exact")
        view.bump("paid_twice")
    else:
        run.to_expire.append(intent_id)
        view.bump("walked_away")


async def play(run: DemoRun, plans: list[PlayerPlan], view: DemoView) -> None:
    """Run every player's plan, ``concurrency`` players at a time."""
    gate = asyncio.Semaphore(run.options.concurrency)

    async def one(plan: PlayerPlan) -> None:
        async with gate:
            try:
                await _play_one(run, plan, view)
            finally:
                view.player_done()

    await asyncio.gather(*(one(plan) for plan in plans))


# -- letting the world catch up -------------------------------------------------------------------
async def settle(run: DemoRun, view: DemoView) -> None:
    """Refund short payments, expire abandoned intents, deliver callbacks, then reconcile."""
    sandbox = run.sandbox.sandbox
    view.phase("KryptoGO refunds short payments; abandoned intents expire")
    for intent_id in run.to_refund:
        sandbox.refund(intent_id)
    for intent_id in run.to_expire:
        sandbox.expire(intent_id)
    view.phase("delivering callbacks (some duplicated, reordered or dropped)")
    await sandbox.callbacks.flush(within=10.0)
    view.phase("reconciling with KryptoGO (repairs dropped callbacks)")
    now = int(time.time())
    report = await run.runtime.payments.reconcile(now - 3600, now + 3600)
    run.reconcile = {
        "listed": report.listed,
        "repaired": report.repaired,
        "mismatches": len(report.mismatches),
    }
    view.bump("repaired", report.repaired)


async def pay_rewards(run: DemoRun, view: DemoView) -> None:
    """Pay today's cashback period (the demo's clock jumps to the period's end)."""
    view.phase("paying the loyalty-reward period (5% cashback)")
    runtime = run.runtime
    ledger = runtime.ledger
    pool = pool_account(REWARD_POOL)
    await ledger.open_account(pool, kind=AccountKind.SYSTEM)
    world = world_account(run.token.chain_id)
    funding = TransferSpec(
        world,
        pool,
        run.token.id,
        10**run.token.decimals * 10_000,
        TransferKind.TRANSFER,
        "demo: the studio funds the reward pool",
    )
    await ledger.transfer("demo:fund-reward-pool", funding)
    runner = runtime.rewards[REWARD_PROGRAM]
    today = runner.program.start
    end_of_day = datetime.combine(today + timedelta(days=1), datetime.min.time(), UTC)
    report = await runner.run_period(today, now=end_of_day)
    run.rewards = report.to_json()
    view.bump("rewards", report.paid_count)


def _reward_program(token: Token, today: date) -> Program:
    """The demo's loyalty program: 5% cashback in the payment token, daily, from today."""
    return Program(
        name=REWARD_PROGRAM,
        asset=token.id,
        pool=REWARD_POOL,
        schedule=Schedule.DAILY,
        start=today,
        cashback_bps=500,
    )


# -- the outcome -----------------------------------------------------------------------------------
async def summarize(run: DemoRun, plans: list[PlayerPlan]) -> DemoSummary:
    """Read the outcome back from the database and the sandbox, and verify the ledger."""
    runtime = run.runtime
    summary = DemoSummary(players=len(plans), storefront_url=run.storefront_url)
    crypto = (str(OrderKind.PURCHASE), str(OrderKind.TOP_UP))
    async with runtime.store.transaction() as conn:
        for kind, status, granted, count in await order_counts(conn):
            if kind in crypto:
                summary.orders += count
                summary.orders_by_status[status] = summary.orders_by_status.get(status, 0) + count
                if status == "success":
                    summary.paid += count
                if granted:
                    summary.granted += count
                if kind == str(OrderKind.TOP_UP):
                    summary.top_ups += count
            elif status == "completed":
                summary.balance_purchases += count
        summary.transfers = await runtime.ledger.count_transfers(conn=conn)
    withdrawals = await runtime.withdrawals.list()
    summary.withdrawals = len(withdrawals)
    for w in withdrawals:
        summary.withdrawals_by_status[str(w.status)] = (
            summary.withdrawals_by_status.get(str(w.status), 0) + 1
        )
    summary.rewards_paid = int(run.rewards.get("paid_count", 0))
    paid_units = int(run.rewards.get("paid_amount", "0"))
    summary.reward_total = (
        f"{format_amount(paid_units, run.token.decimals)} {run.token.symbol}" if paid_units else "0"
    )
    summary.reconcile_mismatches = int(run.reconcile.get("mismatches", 0))
    summary.missing.extend(run.missing)
    for attempt in run.sandbox.sandbox.callbacks.log:
        if attempt.outcome == "delivered":
            summary.callbacks += 1
            if attempt.duplicate_of is not None:
                summary.callbacks_duplicated += 1
        elif attempt.outcome == "dropped":
            summary.callbacks_dropped += 1
    paid_at_api = sum(1 for i in run.sandbox.sandbox.intents() if i.status is PaymentStatus.SUCCESS)
    if paid_at_api != summary.paid:
        summary.errors.append(
            f"KryptoGO says {paid_at_api} intents succeeded, we have {summary.paid}"
        )
    # No note goes on the wire: a double send shows as more executed transfers than withdrawals
    # that may have been executed (sent, or unknown), or as a sent one the sandbox never ran.
    executed = {r.transfer_id for r in run.sandbox.sandbox.transfers.records()}
    may_run = [w for w in withdrawals if str(w.status) in ("sent", "unknown", "sending")]
    if len(executed) > len(may_run):
        summary.errors.append(f"{len(executed) - len(may_run)} transfer(s) beyond the withdrawals")
    if any(str(w.status) == "sent" and w.transfer_id not in executed for w in withdrawals):
        summary.errors.append("a withdrawal is sent but KryptoGO never executed it")
    summary.ledger_verified = (await runtime.ledger.verify()).ok
    summary.seconds = round(time.monotonic() - run.started, 2)
    return summary
