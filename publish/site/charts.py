"""Bar charts as geometry for server-side SVG: one bar per published cell, with its interval."""

from __future__ import annotations

from dataclasses import dataclass


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
