"""Concurrent withdrawals on PostgreSQL: never overdraw, never exceed the daily limit."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from gamepay.core.withdrawals import WithdrawalStatus
from gamepay.errors import InsufficientFunds, LimitExceeded
from gamepay.testing import fresh_postgres_database
from gamepay.withdrawals import Withdrawal
from tests.support.withdrawals import USDT, withdrawal_env

pytestmark = pytest.mark.postgres

ADDRESS = "0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045"
UNIT = 10**6


async def test_concurrent_withdrawals_never_overdraw(pg_url: str) -> None:
    """20 withdrawals of 10 at once against a balance of 55: exactly 5 go through."""
    async with fresh_postgres_database(pg_url) as url, withdrawal_env(url) as env:
        await env.deposit("alice", 55 * UNIT)
        services = [env.service() for _ in range(4)]  # several "replicas" on one database
        results = await asyncio.gather(
            *(
                services[i % 4].withdraw("alice", USDT.id, 10 * UNIT, ADDRESS, request_id=f"r{i}")
                for i in range(20)
            ),
            return_exceptions=True,
        )
        done = [r for r in results if isinstance(r, Withdrawal)]
        refused = [r for r in results if not isinstance(r, Withdrawal)]
        assert len(done) == 5
        assert all(w.status is WithdrawalStatus.SENT for w in done)
        assert all(isinstance(r, InsufficientFunds) for r in refused), refused
        assert await env.balance("alice") == (5 * UNIT, 0)
        assert {r.transfer_id for r in env.executed()} == {w.transfer_id for w in done}
        assert (await env.ledger.verify()).ok


async def test_concurrent_withdrawals_never_exceed_the_daily_limit(pg_url: str) -> None:
    """20 withdrawals of 10 at once under a daily limit of 95: exactly 9 go through."""
    async with (
        fresh_postgres_database(pg_url) as url,
        withdrawal_env(url, daily_limit=95 * UNIT) as env,
    ):
        await env.deposit("alice", 1000 * UNIT)
        service = env.service()
        results = await asyncio.gather(
            *(
                service.withdraw("alice", USDT.id, 10 * UNIT, ADDRESS, request_id=f"r{i}")
                for i in range(20)
            ),
            return_exceptions=True,
        )
        done = [r for r in results if isinstance(r, Withdrawal)]
        refused = [r for r in results if not isinstance(r, Withdrawal)]
        assert len(done) == 9
        assert all(isinstance(r, LimitExceeded) for r in refused), refused
        assert await service.day_total("alice", USDT.id, date(2026, 11, 24)) == 90 * UNIT
        assert await env.balance("alice") == (910 * UNIT, 0)
        assert len(env.executed()) == 9


async def test_concurrent_replays_of_one_request_send_once(pg_url: str) -> None:
    """The same request id 10 times at once: one withdrawal, one transfer, one hold."""
    async with fresh_postgres_database(pg_url) as url, withdrawal_env(url) as env:
        await env.deposit("alice", 100 * UNIT)
        services = [env.service() for _ in range(10)]
        results = await asyncio.gather(
            *(s.withdraw("alice", USDT.id, 10 * UNIT, ADDRESS, request_id="same") for s in services)
        )
        assert len({w.id for w in results}) == 1
        assert len(env.executed()) == 1
        assert len(await services[0].list()) == 1
        assert await env.balance("alice") == (90 * UNIT, 0)
        assert (await env.ledger.verify()).ok
