"""Bar charts as geometry for server-side SVG: one bar per published cell with its interval,
and the ledger's bars of each cohort's spent and remaining budget."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


# Nothing is added up across cells (that would add noise and bias), so every bar is one cell
# of a release file: its noisy count, a whisker for its 95% interval, and its flag.
@dataclass(frozen=True)
class Cell:
    """One row of an aggregate table as a chart or a table shows it."""

    row: int  # the row's index among the data rows of the CSV file (header excluded)
    code: str  # the value of the charted dimension in the file
    label: str
    label_lang: str
    count: int | None
    lower: int | None
    upper: int | None
    flag: str  # "", "c" or "u"


@dataclass(frozen=True)
class Bar:
    cell: Cell
    x: float
    width: float
    y: float
    height: float
    whisker_top: float
    whisker_bottom: float


@dataclass(frozen=True)
class Chart:
    width: float
    height: float
    plot_top: float
    plot_bottom: float
    left: float
    ticks: list[tuple[float, int]]
    bars: list[Bar]
    truncated: bool = False


def bar_chart(cells: list[Cell], limit: int = 40) -> Chart:
    """Geometry of the bars of ``cells`` (withheld cells get no bar, only their flag); past
    ``limit`` cells, the largest published ones, so that labels stay readable."""
    truncated = len(cells) > limit
    if truncated:
        cells = sorted((c for c in cells if c.flag != "c"), key=lambda c: -(c.count or 0))[:limit]
    top = max([c.upper if c.upper is not None else (c.count or 0) for c in cells] + [1])
    step = _nice_step(top)
    scale_top = step * -(-top // step)
    plot_top, plot_bottom, left = 16.0, 200.0, 52.0
    slot = 34.0 if len(cells) <= 20 else 22.0
    width = left + slot * max(len(cells), 1) + 80  # room for the last slanted label
    span = plot_bottom - plot_top

    def y_of(v: float) -> float:
        return plot_bottom - span * v / scale_top

    bars = []
    for i, c in enumerate(cells):
        x = left + i * slot + slot * 0.15
        y = y_of(c.count) if c.count is not None else plot_bottom
        bars.append(Bar(
            cell=c, x=x, width=slot * 0.7, y=y, height=plot_bottom - y,
            whisker_top=y_of(c.upper) if c.upper is not None else y,
            whisker_bottom=y_of(c.lower) if c.lower is not None else y))
    ticks = [(y_of(v), v) for v in range(0, scale_top + 1, step)]
    return Chart(width=width, height=plot_bottom + 70, plot_top=plot_top,
                 plot_bottom=plot_bottom, left=left, ticks=ticks, bars=bars, truncated=truncated)


def _nice_step(top: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if top / step <= 5:
            return step
    return int(10 ** len(str(top // 5)))


# The ledger page's chart: one horizontal bar per cohort, the length of the cap, split into
# what the cohort has spent and what remains (in rho, the unit the ledger adds up exactly).
@dataclass(frozen=True)
class BudgetBar:
    index: int  # the cohort's index in the ledger's list of cohorts
    cohort: int
    y: float
    height: float
    spent_width: float
    remaining_width: float


@dataclass(frozen=True)
class BudgetChart:
    width: float
    height: float
    left: float
    plot_width: float
    plot_top: float
    plot_bottom: float
    ticks: list[tuple[float, float]]  # (x, rho)
    bars: list[BudgetBar]


def budget_chart(cohorts: list[dict[str, Any]], cap_rho: float) -> BudgetChart:
    """Geometry of the spent and remaining rho of each cohort, against the cap's length."""
    left, plot_width, slot, plot_top = 64.0, 480.0, 30.0, 8.0
    full = max([cap_rho] + [float(c["spent"]["rho"]) + float(c["remaining"]["rho"])
                            for c in cohorts] + [1e-12])

    def x_of(rho: float) -> float:
        return plot_width * rho / full

    bars = [BudgetBar(index=i, cohort=int(c["cohort"]), y=plot_top + i * slot + 4,
                      height=slot - 8, spent_width=x_of(float(c["spent"]["rho"])),
                      remaining_width=x_of(float(c["remaining"]["rho"])))
            for i, c in enumerate(cohorts)]
    plot_bottom = plot_top + slot * max(len(cohorts), 1)
    step = _nice_fraction(full)
    ticks = [(left + x_of(i * step), round(i * step, 6)) for i in range(int(full / step) + 1)]
    return BudgetChart(width=left + plot_width + 64, height=plot_bottom + 28, left=left,
                       plot_width=plot_width, plot_top=plot_top, plot_bottom=plot_bottom,
                       ticks=ticks, bars=bars)


def _nice_fraction(top: float) -> float:
    """A tick step giving at most five steps up to ``top`` (0.1, 0.25, 0.5, 1, 2, ...)."""
    for step in (0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0):
        if top / step <= 5:
            return step
    return float(10 ** len(str(int(top // 5))))
