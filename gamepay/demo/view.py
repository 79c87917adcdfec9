"""The demo's live progress view and its final summary table (rich).

The runner only calls ``bump``, ``player_done`` and ``phase``; the view redraws itself a few
times a second while it is live. On a console that is not a terminal rich does not animate, so
``gamepay demo | tee log`` and CI get the final state once, not a stream of frames.
"""

from __future__ import annotations

from collections import Counter
from types import TracebackType
from typing import Self

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gamepay.demo.summary import FINAL_ORDER_STATUSES, DemoSummary

__all__ = ["COUNTER_LABELS", "DemoView", "summary_table"]

COUNTER_LABELS = {
    "intents": "payment intents created",
    "paid_exact": "paid exactly",
    "paid_late": "paid late",
    "paid_short": "paid short",
    "paid_twice": "paid twice",
    "walked_away": "never paid",
    "callbacks": "callbacks handled",
    "granted": "items granted",
    "top_ups": "top-ups",
    "balance_buys": "bought with balance",
    "withdrawals": "withdrawals",
    "refused": "refused (typed errors)",
    "rewards": "reward payouts",
}
"""What the live table shows, in this order (other counters follow, by name)."""


class DemoView:
    """Live counters and a players progress bar; use as ``with DemoView(...) as view:``."""

    def __init__(self, players: int, console: Console | None = None, *, live: bool = True) -> None:
        self.console = console if console is not None else Console()
        self.counters: Counter[str] = Counter()
        self._phase = "starting"
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
        )
        self._players = self._progress.add_task("players", total=players)
        self._live: Live | None = (
            Live(self, console=self.console, refresh_per_second=8, transient=False)
            if live
            else None
        )

    def bump(self, key: str, n: int = 1) -> None:
        """Add ``n`` to counter ``key``."""
        self.counters[key] += n

    def player_done(self) -> None:
        """One simulated player finished its plan."""
        self._progress.advance(self._players)

    def phase(self, text: str) -> None:
        """Say what the demo is doing now (shown above the counters)."""
        self._phase = text

    def __rich__(self) -> RenderableType:
        """The current frame: phase, progress bar, counters."""
        table = Table.grid(padding=(0, 2))
        table.add_column(justify="right")
        table.add_column()
        keys = [k for k in COUNTER_LABELS if k in self.counters]
        keys += sorted(k for k in self.counters if k not in COUNTER_LABELS)
        for key in keys:
            table.add_row(str(self.counters[key]), COUNTER_LABELS.get(key, key))
        return Group(f"[cyan]{self._phase}[/cyan]", self._progress, table)

    def __enter__(self) -> Self:
        """Start redrawing (when live)."""
        if self._live is not None:
            self._live.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop redrawing, leaving the last frame on screen."""
        if self._live is not None:
            self._live.stop()


def summary_table(summary: DemoSummary) -> Table:
    """The end-of-demo table: orders by status, grants, withdrawals, rewards, the checks."""
    table = Table(title="gamepay demo summary", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("players", str(summary.players))
    table.add_row("orders", str(summary.orders))
    for status, count in sorted(summary.orders_by_status.items()):
        mark = "" if status in FINAL_ORDER_STATUSES else " [red](not final)[/red]"
        table.add_row(f"  {status}", f"{count}{mark}")
    table.add_row("paid (success)", str(summary.paid))
    table.add_row("granted", str(summary.granted))
    table.add_row("top-ups", str(summary.top_ups))
    table.add_row("bought with balance", str(summary.balance_purchases))
    table.add_row("withdrawals", str(summary.withdrawals))
    for status, count in sorted(summary.withdrawals_by_status.items()):
        table.add_row(f"  {status}", str(count))
    table.add_row("reward payouts", f"{summary.rewards_paid} (total {summary.reward_total})")
    table.add_row(
        "callbacks delivered",
        f"{summary.callbacks} ({summary.callbacks_duplicated} duplicated, "
        f"{summary.callbacks_dropped} dropped: repaired by polling/reconciliation)",
    )
    table.add_row("ledger transfers", str(summary.transfers))
    verified = "[green]yes[/green]" if summary.ledger_verified else "[red]NO[/red]"
    table.add_row("ledger verified", verified)
    if summary.storefront_url:
        table.add_row("storefront", summary.storefront_url)
    for missing in summary.missing:
        table.add_row("[yellow]not in this build[/yellow]", missing)
    for problem in summary.problems():
        table.add_row("[red]problem[/red]", problem)
    return table
