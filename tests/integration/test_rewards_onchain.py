"""On-chain reward payouts through the withdrawals service and the sandbox, exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from gamepay.core.accounts import AccountKind, player_account, world_account
from gamepay.core.transfers import TransferKind, TransferSpec
from gamepay.errors import ConfigError
from gamepay.rewards import STEPS, Program, RewardRunner
from tests.support.rewards import payout_statuses, reward_transfers
from tests.support.withdrawals import USDT, Env, withdrawal_env

DAY = datetime.now(UTC).date()  # the harness's ledger stamps transfers with the real time
# DAY is closed by then, and the next day is not (whatever the hour the suite runs at)
LATER = datetime.combine(DAY + timedelta(days=1), time(1), tzinfo=UTC)
WALLETS = {"alice": "0x" + "a1" * 20, "bob": "0x" + "b2" * 20}


def program() -> Program:
    """1 USDT for every player who deposited on DAY, paid on-chain from pool:chain."""
    return Program(
        name="chain",
        asset=USDT.id,
        schedule="daily",
        timezone="UTC",
        start=DAY,
        active_bonus=1_000_000,
        payout="onchain",
    )


async def lookup(player_id: str) -> str | None:
    """The studio's wallet lookup: carol has none."""
    return WALLETS.get(player_id)


async def seed(env: Env) -> None:
    """A funded pool and three players who deposited on DAY."""
    prog = program()
    await env.ledger.open_account(prog.pool_account, kind=AccountKind.SYSTEM)
    await env.ledger.transfer(
        "fund-chain-pool",
        TransferSpec(world_account("arb"), prog.pool_account, USDT.id, 10**9, TransferKind.DEPOSIT),
    )
    for player in ("alice", "bob", "carol"):
        await env.deposit(player, 5_000_000)


def runner(env: Env, hook: object = None) -> RewardRunner:
    """A runner over the harness's store, ledger and a fresh withdrawals service."""
    return RewardRunner(
        env.store,
        env.ledger,
        program(),
        clock=env.clock,
        chunk_size=2,
        withdrawals=env.service(),
        wallets=lookup,
        hook=hook,  # type: ignore[arg-type]
    )


async def test_onchain_rewards_are_sent_once_each(db_url: str) -> None:
    """Rewards land in the ledger, then go to wallets once; no wallet: stays in the ledger."""
    async with withdrawal_env(db_url) as env:
        await seed(env)
        [report] = await runner(env).run_due(LATER)
        assert report.status == "paid"
        assert report.sends == {"sent": 2, "no_wallet": 1}
        assert await reward_transfers(env.store, program()) == [
            ("player:alice", 1_000_000),
            ("player:bob", 1_000_000),
            ("player:carol", 1_000_000),
        ]
        executed = env.executed()
        assert sorted(r.wallet_address.lower() for r in executed) == sorted(WALLETS.values())
        assert await env.balance("alice") == (5_000_000, 0)  # the reward left for the wallet
        assert await env.balance("carol") == (6_000_000, 0)  # no wallet: kept in the ledger
        assert await runner(env).run_due(LATER) == []
        assert env.executed() == executed
        assert (await env.ledger.verify()).ok


@pytest.mark.parametrize("crash_step", ["sending", "withdrawn", "sent"])
async def test_crash_while_sending_never_sends_twice(db_url: str, crash_step: str) -> None:
    """A crash before a send, after it but before recording it, or after: nobody twice."""
    async with withdrawal_env(db_url) as env:
        await seed(env)
        calls = []

        def hook(step: str) -> None:
            assert step in STEPS
            calls.append(step)
            if step == crash_step and calls.count(step) == 2:
                raise RuntimeError("crash")

        with pytest.raises(RuntimeError):
            await runner(env, hook).run_due(LATER)
        assert (await runner(env).report(DAY)).status == "sending"  # type: ignore[union-attr]
        [report] = await runner(env).run_due(LATER)
        assert report.status == "paid"
        assert report.sends == {"sent": 2, "no_wallet": 1}
        assert sorted(r.wallet_address.lower() for r in env.executed()) == sorted(WALLETS.values())
        assert set((await payout_statuses(env.store, program())).values()) == {"paid"}
        assert await env.balance("bob") == (5_000_000, 0)
        assert (await env.ledger.balance(player_account("bob"), USDT.id)).held == 0


async def test_treasury_short_voids_at_once_and_keeps_the_reward_in_the_ledger(
    db_url: str,
) -> None:
    """4015 on a payout: the withdrawal fails with its hold voided at once, the reward stays
    in the player's ledger balance, the payout records why, and a rerun sends nothing."""
    async with withdrawal_env(db_url, treasury=0) as env:
        await seed(env)
        [report] = await runner(env).run_due(LATER)
        assert report.status == "paid"
        assert report.sends == {"failed:treasury_insufficient": 2, "no_wallet": 1}
        assert env.executed() == []
        for player in ("alice", "bob", "carol"):
            assert await env.balance(player) == (6_000_000, 0)  # deposit + reward, none held
        failed = await env.service().list(status="failed")
        assert [w.error_code for w in failed] == ["treasury_insufficient"] * 2
        assert await runner(env).run_due(LATER) == []
        assert (await env.ledger.verify()).ok


async def test_onchain_program_needs_the_service_and_a_token() -> None:
    """An on-chain program refuses a currency asset, and a runner without withdrawals/wallets."""
    with pytest.raises(ConfigError):
        Program(name="x", asset="currency:gold", start=DAY, payout="onchain")
    with pytest.raises(ConfigError):
        RewardRunner(None, None, program())  # type: ignore[arg-type]
