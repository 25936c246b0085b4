"""What each page shows, read back from the files of the release being written."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from publish.site.charts import Cell, Chart, bar_chart
from publish.site.labels import (
    COUNTRY_FIELDS,
    country_name,
    is_country,
    sort_key,
    value_label,
)
from schemas.definition import SCHEMA

# Figures come from the CSV files just written (never from the cases), so a page shows exactly
# what the files hold; every figure names its source cell (file, row, column) in data-
# attributes, for readers and tests to check.


def _int(text: str) -> int | None:
    return int(text) if text != "" else None


def _is_flag(column: str) -> bool:
    try:
        return SCHEMA.field(column).type == "flag"
    except KeyError:
        return False


@dataclass(frozen=True)
class Fixed:
    """A dimension held at one value in a chart (shown in its title)."""

    column: str
    code: str


def _unknown_codes(column: str) -> set[str]:
    """The codes of a column that say nothing: not supplied, and its vocabulary's unknown."""
    try:
        vocabulary = SCHEMA.vocabulary_of(SCHEMA.field(column))
    except KeyError:  # a year, or a field without a vocabulary
        return {""}
    return {""} | {v.code for v in vocabulary.values if v.unknown}


@dataclass
class Aggregate:
    """A DP table of the release: its resource entry, index in datapackage.json and rows."""

    index: int
    resource: dict[str, Any]
    frame: pd.DataFrame  # every cell as the text in the file

    @property
    def name(self) -> str:
        return str(self.resource["name"])

    @property
    def path(self) -> str:
        return str(self.resource["path"])

    @property
    def dimensions(self) -> list[str]:
        return [str(d) for d in self.resource["privacy"]["dimensions"]]

    def rows(self, fixed: list[Fixed]) -> pd.DataFrame:
        mask = pd.Series(True, index=self.frame.index)
        for f in fixed:
            mask &= self.frame[f.column] == f.code
        return self.frame[mask]

    def cells(self, by: str, fixed: list[Fixed], lang: str) -> list[Cell]:
        return self.cells_of(self.rows(fixed), by, lang)

    @staticmethod
    def cells_of(rows: pd.DataFrame, by: str, lang: str) -> list[Cell]:
        out = []
        for row, r in rows.iterrows():
            label, label_lang = value_label(by, r[by], lang)
            out.append(Cell(row=int(str(row)), code=r[by], label=label, label_lang=label_lang,
                            count=_int(r["count"]), lower=_int(r["lower_95"]),
                            upper=_int(r["upper_95"]), flag=r["flag"]))
        return out

    def busiest(self, column: str, fixed: list[Fixed]) -> str:
        """The value of ``column`` with the largest published counts given ``fixed``: a
        default for a chart. The sum only chooses; it is never shown."""
        rows = self.rows(fixed)
        rows = rows[rows["flag"] != "c"]
        # A chart of "unknown country" or "not supplied" is a poor default: prefer a value.
        known = rows[~rows[column].isin(_unknown_codes(column))]
        rows = known if not known.empty else rows
        if rows.empty:
            return str(self.frame[column].iloc[0])
        totals = pd.to_numeric(rows["count"], errors="coerce").groupby(rows[column]).sum()
        return str(totals.idxmax())

    def published(self) -> pd.DataFrame:
        return self.frame[self.frame["flag"] != "c"]


@dataclass
class Figure:
    """A chart of one table and the table of its figures."""

    table: Aggregate
    by: str
    fixed: list[Fixed]
    cells: list[Cell]
    chart: Chart
    role: str | None = None  # for country pages: the country field the section is about
    all_withheld: bool = False


def load_aggregates(folder: Path, dp: dict[str, Any]) -> list[Aggregate]:
    out = []
    for i, r in enumerate(dp["resources"]):
        privacy = r.get("privacy") or {}
        if privacy.get("method") != "dp-table" or privacy.get("raw"):
            continue  # raw measurements are for researchers' models, not for the site
        frame = pd.read_csv(folder / r["path"], dtype=str, keep_default_na=False)
        out.append(Aggregate(index=i, resource=r, frame=frame))
    return out


def figure(table: Aggregate, lang: str, *, fixed: list[Fixed] | None = None,
           role: str | None = None) -> Figure:
    """The table's chart: bars along its last dimension that is neither a country nor a
    yes/no flag (a year, an age band), flags held at yes and the others at their busiest
    value; ``fixed`` values come first."""
    given = list(fixed or [])
    held = {f.column for f in given}
    free = [d for d in table.dimensions if d not in held]
    candidates = [d for d in free if d not in COUNTRY_FIELDS and not _is_flag(d)]
    by = candidates[-1] if candidates else free[0]
    chosen = list(given)
    for d in free:
        if d == by:
            continue
        code = "1" if _is_flag(d) else table.busiest(d, chosen)
        chosen.append(Fixed(d, code))
    cells = table.cells(by, chosen, lang)
    return Figure(table=table, by=by, fixed=chosen, cells=cells, chart=bar_chart(cells),
                  role=role, all_withheld=all(c.flag == "c" for c in cells))


def country_figures(tables: list[Aggregate], iso3: str, lang: str) -> list[Figure]:
    """A section per table and country field, where the other dimensions can be shown as
    bars (a year) or held at yes (flags); tables that would need a choice are left out."""
    out = []
    for role in COUNTRY_FIELDS:
        for table in tables:
            if role not in table.dimensions:
                continue
            others = [d for d in table.dimensions if d != role]
            plain = [d for d in others if not _is_flag(d)]
            if len(plain) > 1:
                continue
            out.append(figure(table, lang, fixed=[Fixed(role, iso3)], role=role))
    return out


def countries_with_data(tables: list[Aggregate]) -> list[str]:
    """Countries with at least one published (not withheld) count as a country field."""
    found: set[str] = set()
    for table in tables:
        rows = table.published()
        for role in COUNTRY_FIELDS:
            if role in table.dimensions:
                found |= {c for c in rows[role] if c and is_country(c)}
    return sorted(found)


def sorted_countries(codes: list[str], lang: str) -> list[tuple[str, str]]:
    return sorted(((c, country_name(c, lang)) for c in codes), key=lambda c: sort_key(c[1]))


@dataclass
class Headline:
    """The largest published counts of the latest year of a year × country table."""

    table: Aggregate
    year_column: str
    year_row: int  # a row holding the year, for its source
    year: str
    cells: list[Cell] = field(default_factory=list)


def headline(tables: list[Aggregate], lang: str, size: int = 5) -> Headline | None:
    for table in tables:
        dims = table.dimensions
        years = [d for d in dims if d.startswith("year")]
        if len(dims) != 2 or not years or "country_of_exploitation" not in dims:
            continue
        rows = table.published()
        rows = rows[rows["country_of_exploitation"] != ""]
        if rows.empty:
            continue
        # The latest year with a full row of published figures: the last year or two are
        # often still thin (cases are registered late), and one withheld-looking figure
        # would make a poor headline. Failing that, the year with the most.
        per_year = rows[rows[years[0]] != ""].groupby(years[0]).size()
        if per_year.empty:
            continue
        full = [str(y) for y, k in per_year.items() if k >= size]
        year = max(full) if full else str(per_year.idxmax())
        top = rows[rows[years[0]] == year]
        top = top.assign(n=pd.to_numeric(top["count"], errors="coerce")).sort_values(
            "n", ascending=False, kind="stable")[:size]
        chosen = table.cells_of(top.drop(columns="n"), "country_of_exploitation", lang)
        return Headline(table=table, year_column=years[0], year_row=chosen[0].row, year=year,
                        cells=chosen)
    return None

