"""The console's server-side SVG charts: exact counts, escaped names, the days they cover."""

from __future__ import annotations

import re
from datetime import date
from xml.etree import ElementTree

from gamepay_admin.charts import Series, days_back, legend, series_of, stacked_bars


def test_days_back_ends_today_oldest_first() -> None:
    """Three days ending on the 1st of March cross the month (and a leap day) in order."""
    assert days_back(date(2028, 3, 1), 3) == ["2028-02-28", "2028-02-29", "2028-03-01"]


def test_series_fill_missing_days_with_zero_sorted_by_name() -> None:
    """Rows of ``{series: {day: count}}`` become one count per day, 0 where none."""
    days = ["2026-01-01", "2026-01-02"]
    found = series_of({"pending": {"2026-01-02": 3}, "failed": {"2026-01-01": 1}}, days)
    assert found == [Series("failed", (1, 0)), Series("pending", (0, 3))]
    assert [s.total for s in found] == [1, 3]


def test_bars_stack_exact_counts_in_a_well_formed_svg() -> None:
    """One rect per non-zero count, its tooltip the exact count; the scale's top is the 1-2-5
    step at or above the tallest stack; the SVG parses as XML."""
    days = ["2026-01-01", "2026-01-02"]
    svg = str(stacked_bars("Orders", days, [Series("a", (3, 0)), Series("b", (4, 1))]))
    ElementTree.fromstring(svg)
    assert svg.count("<rect") == 3
    assert re.findall(r"<title>([^<]*)</title></rect>", svg) == [
        "a 2026-01-01: 3",
        "b 2026-01-01: 4",
        "b 2026-01-02: 1",
    ]
    assert ">10</text>" in svg  # 7 at most -> a scale to 10
    assert "<rect" not in str(stacked_bars("None", days, [Series("a", (0, 0))]))


def test_names_are_escaped() -> None:
    """A series named like markup is text in the chart and the legend, never markup."""
    evil = '<script>alert("x")</script>'
    svg = str(stacked_bars(evil, ["2026-01-01"], [Series(evil, (1,))]))
    listed = str(legend([Series(evil, (1,))]))
    for html in (svg, listed):
        assert "<script>" not in html
        assert "&lt;script&gt;" in html
