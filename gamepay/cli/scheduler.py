"""The scheduler of `gamepay serve`: rewards paid when their periods close, reconciliation,
the expiry sweep of time-limited lots.

Four jobs, each on its own interval, run by EVERY replica on its own (no leader, no lock): the
database decides that a reward period is paid once (``gamepay.rewards.runner``), and a
reconciliation is idempotent (it only repairs what differs).

- **rewards** (``GAMEPAY_REWARDS_TICK_S``, default 60 s; ``0`` = off): every program of
  ``GAMEPAY_REWARDS_FILE`` pays every closed period not paid yet (``RewardRunner.run_due``), with
  the economy's own runners (``economy.rewards``: one per program, built once, by the economy).
  The first tick runs at start-up, so periods that closed while no replica ran are paid then.
- **reconcile** (``GAMEPAY_RECONCILE_INTERVAL_S``, default 3600 s; ``0`` = off): KryptoGO's
  intents of the last ``GAMEPAY_RECONCILE_WINDOW_S`` (a day) against our orders
  (``Payments.reconcile``). The first run is one interval after start-up.
- **expiry** (``GAMEPAY_EXPIRY_SWEEP_S``, default 60 s; ``0`` = off): every expired lot of a
  time-limited grant goes back to its issuer (``Inventory.sweep``; idempotent, each lot's
  transfer id is derived from the lot, so replicas sweeping at once post it once). The first
  tick runs at start-up.
- **renewals** (``GAMEPAY_RENEWAL_OFFER_S``, default 300 s; ``0`` = off): every subscription
  whose renewal offer time has come gets its ``renewal_offered`` push, once per period
  (``Payments.subscriptions.offer_due``; replicas agree in the database). Needs ``payments``.

Each tick logs ONE line (INFO, WARNING when something failed) and is counted in ``/metrics``
(``gamepay_scheduler_*``: runs, failures, last and next run, by job). A tick never raises: a
failure is logged and counted, and the job ticks again at its next time.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from gamepay.config import Settings
from gamepay.errors import GamepayError
from gamepay.eventloop import stop_tasks
from gamepay.inventory import Inventory
from gamepay.metrics import Metrics
from gamepay.observability import log_context
from gamepay.payments import Payments
from gamepay.rewards.programs import Program
from gamepay.rewards.programs_file import RewardsFileError, load_rewards_file
from gamepay.rewards.runner import RewardRunner

__all__ = [
    "Job",
    "Scheduler",
    "TickResult",
    "describe",
    "expiry_job",
    "programs_for",
    "renewals_job",
    "scheduler_for",
]

log = logging.getLogger("gamepay.scheduler")


def programs_for(settings: Settings) -> tuple[Program, ...]:
    """The programs of ``GAMEPAY_REWARDS_FILE`` (none when unset); RewardsFileError if bad.

    ``serve`` calls this before it touches the database, so a bad file stops it at start-up
    with one line per problem, each naming the program and the field.
    """
    path = settings.rewards_file
    if path is None:
        return ()
    source = f"GAMEPAY_REWARDS_FILE {path}"
    try:
        programs = load_rewards_file(path)
    except RewardsFileError as exc:
        raise RewardsFileError(exc.problems, source=source) from None
    onchain = [
        f"program {p.name!r} (programs[{i}]) field payout: the scheduler pays ledger programs "
        "only; run on-chain programs from code (RewardRunner with withdrawals and wallets)"
        for i, p in enumerate(programs)
        if p.payout == "onchain"
    ]
    if onchain:
        raise RewardsFileError(onchain, source=source)
    return programs


@dataclass(frozen=True, slots=True)
class TickResult:
    """What one tick did: its one-line summary, and whether anything in it failed."""

    summary: str
    failed: bool = False


@dataclass(frozen=True, slots=True)
class Job:
    """One periodic job: its name (the metrics label), interval and first delay, in seconds."""

    name: str
    interval: float
    tick: Callable[[datetime], Awaitable[TickResult]]
    first_delay: float = 0.0


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Scheduler:
    """Runs each job every ``interval`` seconds in a background task, until ``stop()``."""

    def __init__(
        self,
        jobs: Sequence[Job],
        *,
        metrics: Metrics | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        for job in jobs:
            if job.interval <= 0:
                raise ValueError(f"job {job.name}: the interval must be positive")
        self.jobs = tuple(jobs)
        self.metrics = metrics
        self.clock = clock
        self.ticks: dict[str, int] = {job.name: 0 for job in self.jobs}
        """Ticks done so far, by job name."""
        self._tasks: list[asyncio.Task[None]] = []

    async def tick(self, job: Job) -> TickResult:
        """Run ``job`` once now: log one line, update the metrics; never raises."""
        started = time.monotonic()
        try:
            with log_context(request_id=f"{job.name}-{secrets.token_hex(6)}"):
                result = await job.tick(self.clock())
        except asyncio.CancelledError:
            raise
        except GamepayError as exc:
            result = TickResult(f"failed ({exc.code}): {exc.message}", failed=True)
        except Exception as exc:
            log.exception("scheduler %s: tick raised", job.name)
            result = TickResult(f"failed ({type(exc).__name__})", failed=True)
        took = time.monotonic() - started
        self.ticks[job.name] += 1
        if self.metrics is not None:
            ended = time.time()
            self.metrics.observe_tick(
                job.name, ended=ended, failed=result.failed, next_at=ended + job.interval
            )
        level = logging.WARNING if result.failed else logging.INFO
        log.log(
            level,
            "scheduler %s: %s (%.2fs); next in %gs",
            job.name,
            " ".join(result.summary.split()),
            took,
            job.interval,
        )
        return result

    async def _forever(self, job: Job) -> None:
        if self.metrics is not None:
            self.metrics.schedule_next(job.name, time.time() + job.first_delay)
        await asyncio.sleep(job.first_delay)
        while True:
            await self.tick(job)
            await asyncio.sleep(job.interval)

    def start(self) -> None:
        """Start one background task per job."""
        for job in self.jobs:
            self._tasks.append(asyncio.create_task(self._forever(job), name=f"gp-{job.name}"))

    async def stop(self) -> None:
        """Cancel the jobs' tasks and wait for them (a tick in progress is interrupted; the
        reward runner's transactions make that safe)."""
        tasks, self._tasks = self._tasks, []
        await stop_tasks(tasks)


def rewards_job(runners: Iterable[RewardRunner], interval: float) -> Job:
    """The rewards job: every runner (``economy.rewards``) pays its closed, unpaid periods."""
    runners = tuple(runners)

    async def tick(now: datetime) -> TickResult:
        periods = payouts = 0
        failures: list[str] = []
        for runner in runners:
            try:
                reports = await runner.run_due(now)
            except GamepayError as exc:
                failures.append(f"{runner.program.name}: {exc.code}")
                continue
            periods += len(reports)
            payouts += sum(report.paid_count for report in reports)
        summary = (
            f"{len(runners)} program(s), {periods} period(s) run, {payouts} payout(s) paid in them"
        )
        if failures:
            summary += "; failed: " + ", ".join(failures)
        return TickResult(summary, failed=bool(failures))

    return Job("rewards", interval, tick)


def reconcile_job(payments: Payments, interval: float, window: float) -> Job:
    """The reconcile job: KryptoGO's intents of the last ``window`` seconds vs our orders."""

    async def tick(now: datetime) -> TickResult:
        report = await payments.reconcile(now - timedelta(seconds=window), now)
        outcomes = ", ".join(f"{k} {v}" for k, v in report.outcomes().items())
        return TickResult(
            f"listed {report.listed}, matched {report.checked}, repaired {report.repaired}; "
            f"mismatches: {outcomes}",
            failed=not report.ok,
        )

    return Job("reconcile", interval, tick, first_delay=interval)


def expiry_job(inventory: Inventory, interval: float) -> Job:
    """The expiry job: every lot expired by now goes back to its issuer, once."""

    async def tick(now: datetime) -> TickResult:
        report = await inventory.sweep(now=now)
        return TickResult(report.summary())

    return Job("expiry", interval, tick)


def renewals_job(payments: Payments, interval: float) -> Job:
    """The renewals job: every due subscription renewal is offered (a push), once per period."""

    async def tick(now: datetime) -> TickResult:
        report = await payments.subscriptions.offer_due()
        return TickResult(f"{report.offered} renewal(s) offered")

    return Job("renewals", interval, tick)


def scheduler_for(
    settings: Settings,
    *,
    rewards: Mapping[str, RewardRunner],
    payments: Payments | None,
    metrics: Metrics | None = None,
    clock: Callable[[], datetime] = _utcnow,
    inventory: Inventory | None = None,
) -> Scheduler:
    """The scheduler ``settings`` ask for: each job whose interval is not 0 (maybe none).

    ``rewards`` are the economy's runners (``economy.rewards``): no rewards job without one; no
    reconcile or renewals job without ``payments``; no expiry job without ``inventory`` (the
    economy's: it pushes on the economy's bus).
    """
    jobs = []
    if settings.rewards_tick_s > 0 and rewards:
        jobs.append(rewards_job(rewards.values(), settings.rewards_tick_s))
    if settings.reconcile_interval_s > 0 and payments is not None:
        jobs.append(
            reconcile_job(payments, settings.reconcile_interval_s, settings.reconcile_window_s)
        )
    if settings.expiry_sweep_s > 0 and inventory is not None:
        jobs.append(expiry_job(inventory, settings.expiry_sweep_s))
    if settings.renewal_offer_s > 0 and payments is not None:
        jobs.append(renewals_job(payments, settings.renewal_offer_s))
    return Scheduler(jobs, metrics=metrics, clock=clock)


def describe(scheduler: Scheduler, settings: Settings, programs: Sequence[Program]) -> str:
    """One line saying what the scheduler runs (``serve`` prints it at start-up)."""
    rewards = (
        f"rewards every {settings.rewards_tick_s:g}s ({len(programs)} program(s))"
        if any(job.name == "rewards" for job in scheduler.jobs)
        else "rewards off"
    )
    reconcile = (
        f"reconcile every {settings.reconcile_interval_s:g}s over the last "
        f"{settings.reconcile_window_s:g}s"
        if any(job.name == "reconcile" for job in scheduler.jobs)
        else "reconcile off"
    )
    expiry = (
        f"expiry every {settings.expiry_sweep_s:g}s"
        if any(job.name == "expiry" for job in scheduler.jobs)
        else "expiry off"
    )
    renewals = (
        f"renewal offers every {settings.renewal_offer_s:g}s"
        if any(job.name == "renewals" for job in scheduler.jobs)
        else "renewal offers off"
    )
    return f"scheduler: {rewards}; {reconcile}; {expiry}; {renewals}"
