"""`gamepay withdrawals reconcile --from-export` after 10% of transfers lost their answer.

The strict sandbox (tests/support/withdrawals) refuses any undocumented field, so every transfer
below went out as the four documented strings: reconciliation works without a note.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
from pathlib import Path

from gamepay.core.withdrawals import WithdrawalStatus
from gamepay.sandbox import Faults
from tests.support.cli import invoke
from tests.support.withdrawals import USDT, SimulatedCrash, withdrawal_env

S = WithdrawalStatus
PLAYERS = 8
COUNT = 48


def wallet(n: int) -> str:
    """Player n's own wallet (all lower case: the service stores it checksummed)."""
    return "0x" + f"{n + 1:02x}" * 20


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    """The rows as a CSV file with a header, Studio-export style."""
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


async def test_ten_percent_timeouts_are_all_settled_exactly_from_the_export(
    db_url: str, tmp_path: Path
) -> None:
    """10% of transfers execute and lose their answer, some crash before the call; the CLI
    (dry run first) settles every unknown one exactly: sent to its own transfer, or failed."""
    faults = Faults(seed=4, timeout_after_commit_rate=0.1, timeout_mode="504")
    async with withdrawal_env(db_url, client_timeout=0.5, faults=faults) as env:
        for n in range(PLAYERS):
            await env.deposit(f"p{n}", 10**9)
        crashed = set(range(5, COUNT, 11))
        for i in range(COUNT):
            n = i % PLAYERS

            def die(step: str, i: int = i) -> None:
                if i in crashed and step == "sending":
                    raise SimulatedCrash(step)

            with contextlib.suppress(SimulatedCrash):
                await env.service(checkpoint=die).withdraw(
                    f"p{n}", USDT.id, 1_000_000 + 1_000 * i, wallet(n), request_id=f"r{i}"
                )
        await env.service().recover()
        before = {w.id: w for w in await env.service().list()}
        unknown = [w for w in before.values() if w.status is S.UNKNOWN]
        executed = env.executed_ids()
        lost_answers = [w for w in unknown if w.transfer_id is None and w.id]
        assert len(unknown) > len(crashed)  # some timed out after executing
        assert len(executed) == COUNT - len(crashed)
        export = tmp_path / "transfers.csv"
        write_csv(export, env.export())

        code, out = await asyncio.to_thread(
            invoke, db_url, "withdrawals", "reconcile", "--from-export", str(export),
            "--dry-run", "--absent-means-failed", "--json",
        )  # fmt: skip
        assert code == 0, out
        plan = json.loads(out)
        assert plan["dry_run"] is True
        assert plan["records"] == len(executed)
        assert {r["withdrawal_id"] for r in plan["withdrawals"]} == {w.id for w in unknown}
        assert {w.id: w.status for w in await env.service().list()} == {
            wid: w.status for wid, w in before.items()
        }

        code, out = await asyncio.to_thread(
            invoke, db_url, "withdrawals", "reconcile", "--from-export", str(export),
            "--absent-means-failed", "--json",
        )  # fmt: skip
        assert code == 0, out
        done = json.loads(out)
        actions = {r["withdrawal_id"]: r["action"] for r in done["withdrawals"]}
        assert actions == {r["withdrawal_id"]: r["action"] for r in plan["withdrawals"]}
        after = {w.id: w for w in await env.service().list()}
        assert all(w.status in (S.SENT, S.FAILED) for w in after.values())
        claimed = [w.transfer_id for w in after.values() if w.status is S.SENT]
        assert sorted(claimed) == sorted(executed)  # every execution, exactly one withdrawal
        for w in lost_answers:
            settled = after[w.id]
            if settled.status is S.SENT:
                record = executed[str(settled.transfer_id)]
                assert (record.amount, record.wallet_address) == (w.amount, w.address)
                assert record.tx_hash == settled.tx_hash
        failed = [w for w in after.values() if w.status is S.FAILED]
        assert len(failed) == len(crashed)  # never called: voided, funds back
        assert all(w.error_code is None for w in failed)  # nothing refused (no 4000 for a note)
        for n in range(PLAYERS):
            sent = sum(
                w.amount for w in after.values() if w.player_id == f"p{n}" and w.status is S.SENT
            )
            assert await env.balance(f"p{n}") == (10**9 - sent, 0)
        assert (await env.ledger.verify()).ok
        # run again: nothing left to do
        code, out = await asyncio.to_thread(
            invoke, db_url, "withdrawals", "reconcile", "--from-export", str(export), "--json"
        )
        assert (code, json.loads(out)["withdrawals"]) == (0, [])


async def test_reconcile_leaves_lookalikes_to_an_operator_and_refuses_a_bad_export(
    db_url: str, tmp_path: Path
) -> None:
    """Two unknown withdrawals of the same amount to the same wallet: the table lists both
    candidates and settles neither; an unreadable export changes nothing (exit 2)."""
    async with withdrawal_env(db_url, client_timeout=0.5) as env:
        await env.deposit("alice", 10**9)
        for request in ("a", "b"):
            env.running.sandbox.arm_timeout_after_commit("transfer", "504")
            w = await env.service().withdraw(
                "alice", USDT.id, 5_000_000, wallet(0), request_id=request
            )
            assert w.status is S.UNKNOWN
        export = tmp_path / "transfers.json"
        export.write_text(json.dumps({"data": env.export()}))
        code, out = await asyncio.to_thread(
            invoke, db_url, "withdrawals", "reconcile", "--from-export", str(export),
            "--absent-means-failed",
        )  # fmt: skip
        assert code == 0, out
        assert out.count("ambiguous") == 2
        for record in env.executed():
            assert record.transfer_id in out
        assert {w.status for w in await env.service().list()} == {S.UNKNOWN}
        bad = tmp_path / "bad.csv"
        bad.write_text("id,wallet_address,amount\n1-1-1,0xabc,\n")
        code, out = await asyncio.to_thread(
            invoke, db_url, "withdrawals", "reconcile", "--from-export", str(bad), "--json"
        )
        assert code == 2  # bad input (gamepay.cli._common.exit_code_for)
        assert json.loads(out)["error"] == "invalid_export"
        assert {w.status for w in await env.service().list()} == {S.UNKNOWN}
