"""Shared setup for the reward tests: a ledger with an asset, players, revenue and a pool."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gamepay.core.accounts import AccountKind
from gamepay.core.assets import Currency
from gamepay.core.transfers import TransferKind, TransferSpec
from gamepay.ledger import Ledger
from gamepay.rewards import Program
from gamepay.store import Store
from gamepay.store.schema.ledger import transfers_table
from gamepay.store.schema.rewards import payouts_table, runs_table

__all__ = [
    "Clock",
    "World",
    "open_world",
    "payout_statuses",
    "program_for",
    "reward_transfers",
    "run_statuses",
    "within",
]

NOV = datetime(2026, 11, 1, tzinfo=UTC)


class Clock:
    """A settable clock for the ledger and the runner."""

    def __init__(self, now: datetime = NOV) -> None:
        self.now = now

    def __call__(self) -> datetime:
        """The current pretend time."""
        return self.now


@dataclass
class World:
    """A store and ledger with one currency, revenue, a world account and helpers."""

    store: Store
    ledger: Ledger
    clock: Clock
    asset: str

    async def player(self, player_id: str, funds: int = 10**12) -> None:
        """Open a player and give it funds (a grant, which is not activity)."""
        await self.ledger.open_account(f"player:{player_id}")
        await self.ledger.transfer(
            f"fund:{player_id}:{self.asset}",
            TransferSpec(
                f"issuer:{self.asset}", f"player:{player_id}", self.asset, funds, TransferKind.GRANT
            ),
        )

    async def pool(self, name: str, amount: int) -> None:
        """Open pool:<name> (once) and add ``amount`` to it."""
        await self.ledger.open_account(f"pool:{name}", kind=AccountKind.SYSTEM)
        await self.ledger.transfer(
            f"poolfund:{name}:{secrets.token_hex(8)}",
            TransferSpec(
                f"issuer:{self.asset}", f"pool:{name}", self.asset, amount, TransferKind.GRANT
            ),
        )

    async def at(self, when: datetime, transfer_id: str, spec: TransferSpec) -> None:
        """Post a transfer stamped ``when`` (the ledger reads the clock)."""
        saved = self.clock.now
        self.clock.now = when
        try:
            await self.ledger.transfer(transfer_id, spec)
        finally:
            self.clock.now = saved

    async def purchase(self, when: datetime, tid: str, player: str, amount: int) -> None:
        """A purchase: the player pays revenue."""
        await self.at(
            when,
            tid,
            TransferSpec(f"player:{player}", "revenue", self.asset, amount, TransferKind.PURCHASE),
        )

    async def buyers(self, program: Program, day: date, prefix: str, count: int) -> None:
        """A pool for ``program`` that pays everyone, and ``count`` players ``{prefix}00``...
        where player i bought ``1000 + i`` at second i of the period holding ``day``."""
        await self.pool(program.name, 10**12)
        at = within(program, day)
        for i in range(count):
            await self.player(f"{prefix}{i:02d}")
            await self.purchase(at(i), f"{prefix}{i}:buy", f"{prefix}{i:02d}", 1000 + i)

    async def refund(self, when: datetime, tid: str, player: str, amount: int) -> None:
        """A refund: revenue pays the player back."""
        await self.at(
            when,
            tid,
            TransferSpec("revenue", f"player:{player}", self.asset, amount, TransferKind.REFUND),
        )

    async def deposit(self, when: datetime, tid: str, player: str, amount: int) -> None:
        """A deposit from the outside world."""
        await self.at(
            when,
            tid,
            TransferSpec("world:arb", f"player:{player}", self.asset, amount, TransferKind.DEPOSIT),
        )


async def open_world(url: str, clock: Clock | None = None, code: str = "gold") -> World:
    """Connect, migrate and set up the ledger's system accounts for one currency."""
    store = await Store.connect(url)
    await store.migrate()
    clock = clock or Clock()
    ledger = Ledger(store, clock=clock)
    asset = Currency(code)
    await ledger.register_asset(asset)
    await ledger.open_account("revenue", kind=AccountKind.SYSTEM, allow_negative=True)
    await ledger.open_account("world:arb", kind=AccountKind.SYSTEM, allow_negative=True)
    await ledger.open_account(f"issuer:{asset.id}", kind=AccountKind.SYSTEM, allow_negative=True)
    return World(store, ledger, clock, asset.id)


async def reward_transfers(store: Store, program: Program) -> list[tuple[str, int]]:
    """Every reward transfer paid from the program's pool: (credit account, amount), sorted."""
    t = transfers_table

    async def read(conn: AsyncConnection) -> list[tuple[str, int]]:
        rows = await conn.execute(
            sa.select(t.c.credit, t.c.amount).where(
                t.c.debit == program.pool_account, t.c.kind == TransferKind.REWARD.value
            )
        )
        return sorted((row.credit, int(row.amount)) for row in rows)

    return await store.read(read)


async def payout_statuses(store: Store, program: Program) -> dict[str, str]:
    """player id -> payout status for every payout row of the program."""
    p, r = payouts_table, runs_table

    async def read(conn: AsyncConnection) -> dict[str, str]:
        rows = await conn.execute(
            sa.select(p.c.player_id, p.c.status)
            .join(r, r.c.id == p.c.run_id)
            .where(r.c.program == program.name)
        )
        return {row.player_id: row.status for row in rows}

    return await store.read(read)


async def run_statuses(store: Store) -> list[str]:
    """The status of every reward run in the database."""
    async with store.engine.connect() as conn:
        return list((await conn.execute(sa.select(runs_table.c.status))).scalars().all())


def program_for(name: str, asset: str, **rules: object) -> Program:
    """A monthly Berlin program starting November 2026 with the given rules."""
    return Program(
        name=name,
        asset=asset,
        schedule="monthly",
        timezone="Europe/Berlin",
        start=date(2026, 11, 1),
        **rules,  # type: ignore[arg-type]
    )


def within(program: Program, day: date) -> Callable[[int], datetime]:
    """Seconds after the start of the period containing ``day`` -> an aware instant."""
    period = program.period(day)
    return lambda seconds: period.start + timedelta(seconds=seconds)
