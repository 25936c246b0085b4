"""What the pages show, from release tables: readable labels, country names, chart geometry.

Figures are published numbers only (noisy counts, intervals, flags) and every one is shown
with its 95% interval and flag; nothing is added up across cells (that would add noise and
bias), so each bar is one published cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from babel import Locale, UnknownLocaleError

from api.tables import Table
from schemas.definition import SCHEMA, Field

LANGUAGES = {"en": "English", "fr": "Français", "es": "Español", "pt": "Português",
             "ar": "العربية"}
COUNTRY_FIELDS = ("country_of_exploitation", "citizenship")
FLAG_TEXT = {"c": "withheld: below the release threshold",
             "u": "low reliability: the interval is wide compared with the count"}


def language(lang: str | None) -> str:
    return lang if lang in LANGUAGES else "en"


@cache
def _locale(lang: str) -> Locale:
    try:
        return Locale.parse(lang)
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


@cache
def _countries() -> dict[str, Any]:
    return {v.code: v for v in SCHEMA.vocabularies["country"].values}


def is_country(iso3: str) -> bool:
    return iso3 in _countries()


def country_name(iso3: str, lang: str = "en") -> str:
    value = _countries().get(iso3)
    if value is None:
        return iso3
    name = _locale(lang).territories.get(value.label)
    return str(name) if name else str(value.extra.get("name", iso3))


def region_names(iso3: str, lang: str = "en") -> tuple[str | None, str | None]:
    """The UN M49 sub-region and region of a country, named in ``lang``."""
    value = _countries().get(iso3)
    if value is None:
        return None, None
    territories = _locale(lang).territories
    sub, reg = value.extra.get("subregion"), value.extra.get("region")
    return (territories.get(str(sub)) if sub else None,
            territories.get(str(reg)) if reg else None)


def _field(column: str) -> Field | None:
    try:
        return SCHEMA.field(column)
    except KeyError:
        return None


def column_title(column: str) -> str:
    f = _field(column)
    return f.title if f else column.replace("_", " ")


def value_label(column: str, value: object, lang: str = "en") -> str:
    """A cell value as a reader should see it."""
    if value is None or value == "":
        return "Not supplied"
    f = _field(column)
    if f is None:
        return str(value)
    if f.type == "country":
        return country_name(str(value), lang)
    if f.type == "flag":
        return {1: "Yes", 0: "No", "1": "Yes", "0": "No"}.get(value, str(value))  # type: ignore[call-overload]
    if f.type == "category" and f.vocabulary:
        labels = SCHEMA.vocabularies[f.vocabulary].label_of()
        return labels.get(str(value), str(value)).replace("--", "–")
    return str(value)


def options(table: Table, column: str, lang: str = "en") -> list[tuple[str, str]]:
    """(value, label) of every value the column takes in the table, in file order."""
    out = [(v, value_label(column, v or None, lang)) for v in table.values.get(column, [])]
    f = _field(column)
    if f is not None and f.type == "country":
        out.sort(key=lambda o: (o[0] == "", o[1]))
    return out


def busiest(table: Table, column: str, fixed: dict[str, tuple[str, ...]]) -> str | None:
    """The value of ``column`` whose published cells hold the largest counts (given the
    other filters): a sensible default for a picker. Uses published numbers only."""
    totals: dict[str, int] = {}
    for row in table.records(fixed):
        count = row.get("count")
        if isinstance(count, int) and row.get("flag") != "c":
            key = "" if row[column] is None else str(row[column])
            totals[key] = totals.get(key, 0) + count
    if not totals:
        values = table.values.get(column, [])
        return values[0] if values else None
    return max(totals, key=lambda k: totals[k])


@dataclass(frozen=True)
class Bar:
    label: str
    count: int | None
    lower: int | None
    upper: int | None
    flag: str | None
    x: float
    width: float
    y: float
    height: float
    whisker_top: float
    whisker_bottom: float


@dataclass(frozen=True)
class Chart:
    title: str
    description: str
    width: float
    height: float
    plot_top: float
    plot_bottom: float
    left: float
    ticks: list[tuple[float, str]]
    bars: list[Bar]
    note: str | None = None


def bar_chart(rows: list[dict[str, Any]], by: str, title: str, lang: str = "en",
              limit: int = 40) -> Chart:
    """One bar per published cell: the noisy count, a whisker for its 95% interval, and the
    flag written on the bar (``c``: withheld, no bar; ``u``: low reliability)."""
    note = None
    if len(rows) > limit:
        shown = [r for r in rows if r.get("flag") != "c"]
        shown.sort(key=lambda r: -(r.get("count") or 0))
        rows = shown[:limit]
        note = (f"Showing the {len(rows)} largest published values of {len(shown)}; the "
                "table below the chart and the downloads have all of them.")
    top = max([int(r.get("upper_95") or r.get("count") or 0) for r in rows] + [1])
    step = _nice_step(top)
    scale_top = step * -(-top // step)
    plot_top, plot_bottom, left = 16.0, 200.0, 52.0
    slot = 34.0 if len(rows) <= 20 else 22.0
    width = left + slot * max(len(rows), 1) + 80  # room for the last slanted label
    span = plot_bottom - plot_top

    def y_of(v: float) -> float:
        return plot_bottom - span * v / scale_top

    bars = []
    for i, r in enumerate(rows):
        count = r.get("count")
        lower, upper = r.get("lower_95"), r.get("upper_95")
        x = left + i * slot + slot * 0.15
        y = y_of(count) if isinstance(count, int) else plot_bottom
        bars.append(Bar(
            label=value_label(by, r.get(by), lang), count=count if isinstance(count, int) else None,
            lower=lower if isinstance(lower, int) else None,
            upper=upper if isinstance(upper, int) else None, flag=r.get("flag") or None,
            x=x, width=slot * 0.7, y=y, height=plot_bottom - y,
            whisker_top=y_of(upper) if isinstance(upper, int) else y,
            whisker_bottom=y_of(lower) if isinstance(lower, int) else y))
    ticks = [(y_of(v), f"{v:,}") for v in range(0, scale_top + 1, step)]
    described = "; ".join(
        f"{b.label}: " + (f"{b.count} (95% interval {b.lower}–{b.upper})"
                          if b.count is not None else "withheld")
        + (f", flag {b.flag}" if b.flag else "") for b in bars)
    return Chart(title=title, description=described, width=width, height=plot_bottom + 70,
                 plot_top=plot_top, plot_bottom=plot_bottom, left=left, ticks=ticks, bars=bars,
                 note=note)


def _nice_step(top: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if top / step <= 5:
            return step
    return int(10 ** len(str(top // 5)))
