"""Withdrawals under chaos: throughput, and proof that nothing was sent twice or lost.

Many players withdraw at once through ``Withdrawals`` against the sandbox over real HTTP with
faults on: transfers that commit and then lose their answer (HTTP 504), injected 429/500 answers,
and crashes between persisted steps (followed by ``recover()``). Then every ``unknown``
withdrawal is reconciled from the sandbox's record of executed transfers, and the figures are
checked (no note is sent, so by KryptoGO's transfer ids, ``transfer_audit``): no execution that
no sent withdrawal accounts for, every player's funds = deposits - sent, ledger verified.
Baseline (same process, same sandbox): bare ``KryptoGOClient.transfer`` calls, i.e. the HTTP
cost without the service's transactions.

Usage: ``python bench/withdrawals.py [--quick] [--db URL]``; the last line is one JSON object.

``bench/payments.py`` can reuse ``withdrawal_chaos(...)`` (this directory is on ``sys.path``
when a bench script runs): it takes a store, a ledger, a client and a running sandbox and
returns the figures as a dict.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gamepay.core.accounts import AccountKind, player_account, world_account
from gamepay.core.assets import Token
from gamepay.core.transfers import TransferKind, TransferSpec
from gamepay.core.withdrawals import WithdrawalStatus
from gamepay.errors import GamepayError
from gamepay.kryptogo.client import KryptoGOClient
from gamepay.kryptogo.transfers import TransferRequest
from gamepay.ledger import Ledger
from gamepay.sandbox import Faults, RunningSandbox, SandboxConfig
from gamepay.store import Store
from gamepay.testing import running_sandbox, sqlite_url
from gamepay.withdrawals import Withdrawals, WithdrawalsConfig

USDT = Token("arb", "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9", "USDT", 6)
ADDRESS = "0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045"
BARE_ADDRESS = "0x52908400098527886E0F7030069857D2E4169EE7"
"""The baseline's bare transfers go elsewhere, so reconciliation never mistakes them."""
CHAOS = Faults(
    seed=11,
    timeout_after_commit_rate=0.1,
    timeout_mode="504",
    api_error_rate=0.05,
    api_error_statuses=(429, 500),
)
"""The faults on during the chaos run."""


def transfer_audit(withdrawals: list[Any], records: list[Any]) -> tuple[int, int]:
    """``(unaccounted executions, lost units)`` of ``withdrawals`` against executed records.

    A sent withdrawal claims the record with its transfer id (missing or of another amount:
    lost); a record claimed twice, or executed to one of these withdrawals' wallets and claimed
    by none while none of them is still unsettled, is an execution nobody accounts for (a double
    send, or a voided withdrawal that was in fact paid): its amount is lost.
    """
    by_id = {r.transfer_id: r for r in records}
    claimed = Counter(w.transfer_id for w in withdrawals if w.status is WithdrawalStatus.SENT)
    twice = sum(1 for n in claimed.values() if n > 1)
    lost = 0
    for w in withdrawals:
        if w.status is WithdrawalStatus.SENT:
            record = by_id.get(w.transfer_id)
            lost += w.amount if record is None else abs(record.amount - w.amount)
    settled = all(w.status in (WithdrawalStatus.SENT, WithdrawalStatus.FAILED) for w in withdrawals)
    wallets = {w.address for w in withdrawals}
    for r in records:
        if settled and r.wallet_address in wallets and r.transfer_id not in claimed:
            twice += 1
            lost += r.amount
    return twice, lost


class Crash(BaseException):
    """A simulated process death at a checkpoint (nothing in the service catches it)."""


def _crasher(rng: random.Random, rate: float) -> Callable[[str], None]:
    def checkpoint(step: str) -> None:
        if rng.random() < rate:
            raise Crash(step)

    return checkpoint


async def withdrawal_chaos(
    store: Store,
    ledger: Ledger,
    client: KryptoGOClient,
    running: RunningSandbox,
    *,
    count: int = 200,
    players: int = 20,
    concurrency: int = 8,
    crash_rate: float = 0.03,
    seed: int = 1,
    token: Token = USDT,
) -> dict[str, Any]:
    """Run ``count`` withdrawals with faults and crashes, recover, reconcile; return figures.

    Uses player ids ``wd-bench-<n>`` and funds each (deposits from ``world:<chain>``) and the
    sandbox treasury. Faults in force on ``running.sandbox`` stay as the caller set them.
    """
    rng = random.Random(seed)
    config = WithdrawalsConfig(tokens={token.id: token}, min_amount={token.id: 1})
    await ledger.register_asset(token)
    await ledger.open_account(
        world_account(token.chain_id), kind=AccountKind.SYSTEM, allow_negative=True
    )
    names = [f"wd-bench-{seed}-{n}" for n in range(players)]
    deposited: Counter[str] = Counter()
    for name in names:
        await ledger.open_account(player_account(name))
        amount = 10**9
        await ledger.transfer(
            f"wd-bench-deposit-{name}",
            TransferSpec(
                world_account(token.chain_id),
                player_account(name),
                token.id,
                amount,
                kind=TransferKind.DEPOSIT,
            ),
        )
        deposited[name] += amount
    running.sandbox.fund(token.chain_id, token.symbol, 10**15)

    def service(checkpoint: Callable[[str], None] | None = None) -> Withdrawals:
        return Withdrawals(store, ledger, client, config=config, checkpoint=checkpoint)

    crashes = refused = 0
    jobs = [(rng.choice(names), rng.randint(1, 10**6), f"req-{seed}-{i}") for i in range(count)]
    started = time.perf_counter()
    for offset in range(0, count, concurrency):
        batch = jobs[offset : offset + concurrency]
        results = await asyncio.gather(
            *(
                service(_crasher(rng, crash_rate)).withdraw(p, token.id, a, ADDRESS, request_id=r)
                for p, a, r in batch
            ),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, Crash):
                crashes += 1
            elif isinstance(result, GamepayError):
                refused += 1
            elif isinstance(result, BaseException):
                raise result
        if any(isinstance(r, Crash) for r in results):
            await service().recover()  # the "restarted process"
    elapsed = time.perf_counter() - started
    await service().recover()
    before = Counter(w.status for w in await service().list())
    report = await service().reconcile_unknown(
        running.sandbox.transfers.records, absent_means_failed=True
    )
    mine = [w for w in await service().list() if w.player_id in deposited]
    after = Counter(w.status for w in mine)
    twice, lost = transfer_audit(mine, running.sandbox.transfers.records())
    sent_units: Counter[str] = Counter()
    for w in mine:
        if w.status is WithdrawalStatus.SENT:
            sent_units[w.player_id] += w.amount
    for name in names:
        balance = await ledger.balance(player_account(name), token.id)
        lost += abs(deposited[name] - sent_units[name] - balance.available - balance.held)
    verified = (await ledger.verify()).ok
    return {
        "withdrawals": count,
        "sent": after[WithdrawalStatus.SENT],
        "failed": after[WithdrawalStatus.FAILED],
        "unknown_before_reconcile": before[WithdrawalStatus.UNKNOWN],
        "reconciled_sent": len(report.sent),
        "reconciled_failed": len(report.failed),
        "unknown_after_reconcile": after[WithdrawalStatus.UNKNOWN],
        "crashes": crashes,
        "refused": refused,
        "transfers_executed_twice": twice,
        "lost_units": lost,
        "ledger_verified": verified,
        "withdrawals_per_s": round(count / elapsed, 1),
    }


async def bare_transfers(client: KryptoGOClient, count: int, concurrency: int) -> float:
    """Transfers per second of bare ``client.transfer`` calls (the HTTP baseline)."""
    started = time.perf_counter()
    for offset in range(0, count, concurrency):
        await asyncio.gather(
            *(
                client.transfer(
                    TransferRequest(
                        chain_id=USDT.chain_id,
                        token_address=USDT.address,
                        amount=1,
                        decimals=USDT.decimals,
                        wallet_address=BARE_ADDRESS,
                        reference=f"bare-{offset + i}",
                    )
                )
                for i in range(min(concurrency, count - offset))
            )
        )
    return count / (time.perf_counter() - started)


async def main(quick: bool, db: str | None) -> dict[str, Any]:
    """Run the baseline and the chaos run on one database and one served sandbox."""
    count = 60 if quick else 400
    with tempfile.TemporaryDirectory() as tmp:
        url = db or sqlite_url(Path(tmp) / "bench.db")
        store = await Store.connect(url)
        try:
            await store.migrate()
            ledger = Ledger(store, clock=lambda: datetime.now(UTC))
            async with running_sandbox(SandboxConfig(seed=5)) as running:
                client = KryptoGOClient(
                    client_id=running.client_id,
                    api_key=running.api_key,
                    origin=running.origin,
                    base_url=running.url,
                )
                async with client:
                    running.sandbox.fund(USDT.chain_id, USDT.symbol, 10**12)
                    bare = await bare_transfers(client, count, 8)
                    running.sandbox.set_faults(CHAOS)
                    figures = await withdrawal_chaos(
                        store, ledger, client, running, count=count, seed=int(time.time())
                    )
        finally:
            await store.close()
    figures["bench"] = "withdrawals"
    figures["backend"] = "postgresql" if url.startswith("postgres") else "sqlite"
    figures["bare_transfers_per_s"] = round(bare, 1)
    figures["service_over_bare"] = round(bare / figures["withdrawals_per_s"], 2)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 withdrawals instead of 400")
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    result = asyncio.run(main(args.quick, args.db))
    print(
        f"{result['withdrawals']} withdrawals on {result['backend']}: "
        f"{result['withdrawals_per_s']}/s with faults vs {result['bare_transfers_per_s']}/s bare "
        f"transfers (x{result['service_over_bare']} the time); sent {result['sent']}, "
        f"failed {result['failed']}, reconciled {result['reconciled_sent']} sent / "
        f"{result['reconciled_failed']} failed, crashes {result['crashes']}"
    )
    print(json.dumps(result, sort_keys=True))
