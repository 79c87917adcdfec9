"""Server-side SVG charts: ours, no JavaScript, nothing to vendor, CSP-friendly.

A :class:`Series` is one named line of per-day counts; :func:`stacked_bars` draws several as
stacked bars, one per day, with a y scale and day labels, and :func:`legend` lists them with
their colours. Colours are the stylesheet's classes ``s0`` .. ``s7`` (no inline style, which the
console's CSP would refuse). Counts are exact integers; only the geometry is scaled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from markupsafe import Markup, escape

__all__ = ["PALETTE_SIZE", "Series", "days_back", "legend", "series_of", "stacked_bars"]

PALETTE_SIZE = 8
"""How many distinct colours the stylesheet defines (``s0`` .. ``s7``)."""

_W, _H = 360, 150
_LEFT, _BOTTOM, _TOP = 30, 20, 8


@dataclass(frozen=True)
class Series:
    """One named series of counts, one per day of the chart (same order as its days)."""

    name: str
    counts: tuple[int, ...]

    @property
    def total(self) -> int:
        """The series' sum over every day."""
        return sum(self.counts)


def days_back(today: date, days: int) -> list[str]:
    """The ``days`` ISO days ending with ``today``, oldest first."""
    return [(today - timedelta(days=n)).isoformat() for n in range(days - 1, -1, -1)]


def series_of(rows: Mapping[str, Mapping[str, int]], days: Sequence[str]) -> list[Series]:
    """``{series: {day: count}}`` as series over ``days`` (missing days are 0), by name."""
    return [
        Series(name, tuple(int(per_day.get(day, 0)) for day in days))
        for name, per_day in sorted(rows.items())
    ]


def _nice_top(peak: int) -> int:
    """The smallest 1/2/5 x 10^n at or above ``peak`` (at least 1)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= peak:
                return step * factor
        step *= 10


def stacked_bars(title: str, days: Sequence[str], series: Sequence[Series]) -> Markup:
    """An accessible SVG of ``series`` stacked per day (``title`` is its label)."""
    peak = max((sum(s.counts[i] for s in series) for i in range(len(days))), default=0)
    top = _nice_top(peak)
    plot_w, plot_h = _W - _LEFT - 8, _H - _BOTTOM - _TOP
    slot = plot_w / max(len(days), 1)
    bar = max(slot * 0.7, 1.0)
    parts = [
        f'<svg class="chart" viewBox="0 0 {_W} {_H}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for tick in (0, top // 2, top) if top > 1 else (0, top):
        y = _TOP + plot_h - plot_h * tick / top
        parts.append(
            f'<line class="axis" x1="{_LEFT}" x2="{_W - 8}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text x="{_LEFT - 4}" y="{y + 3:.1f}" text-anchor="end">{tick}</text>'
        )
    for i, day in enumerate(days):
        x = _LEFT + slot * i + (slot - bar) / 2
        base = float(_TOP + plot_h)
        for n, s in enumerate(series):
            count = s.counts[i]
            if count <= 0:
                continue
            height = plot_h * count / top
            base -= height
            parts.append(
                f'<rect class="s{n % PALETTE_SIZE}" x="{x:.1f}" y="{base:.1f}" '
                f'width="{bar:.1f}" height="{height:.1f}">'
                f"<title>{escape(s.name)} {escape(day)}: {count}</title></rect>"
            )
        if len(days) <= 7 or (len(days) - 1 - i) % 2 == 0:  # every other day, today labelled
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{_H - 6}" text-anchor="middle">'
                f"{escape(day[5:])}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text part above is escaped


def legend(series: Sequence[Series]) -> Markup:
    """The series' names, colours and totals as a list."""
    items = "".join(
        f'<li><span class="swatch s{n % PALETTE_SIZE}"></span>{escape(s.name)} '
        f"<b>{s.total}</b></li>"
        for n, s in enumerate(series)
    )
    return Markup(f'<ul class="legend">{items}</ul>')  # noqa: S704 - names escaped above
