"""Exact contingency tables over public domains, counted where the data sits (SQL GROUP BY).

A release's tables are counted together: one ``GROUP BY`` over the union of their
dimensions (:func:`scan_plan`), then each table is summed out of that small result in numpy
(:func:`table_counts`). This is exact because every dimension is one single-valued column
of ``cases`` (multi-select answers are one flag column per value), so each case sits in
exactly one group of the finer grouping and in exactly one cell of every coarser table:
a coarser table's count is the sum of the finer groups that agree with it on its own
dimensions. Values outside a table's public domain are dropped only on that table's own
dimensions, never on the dimensions summed away, exactly as a direct ``GROUP BY`` would;
``NULL`` ("not supplied") is a group of its own in SQL and a cell of its own here.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from schemas.definition import SCHEMA
from schemas.tables import counted_cases

Cell = tuple[object, ...]
# Groups read from the database at a time when counting many tables from one scan.
PART_SIZE = 200_000
# The field a cohort is defined by (privacy model v2: the year a person was first registered).
COHORT_YEAR = "year_of_registration"
Source = sa.Select[Any]


def _source(source: Source | None) -> sa.Subquery:
    return (counted_cases() if source is None else source).subquery()


def domain(field_name: str, year_min: int, cohort: int | None = None) -> tuple[object, ...]:
    """The public domain of a dimension, with None for "not supplied" last.

    Never read from data: a category that exists only in the data would leak. Measured for
    one cohort, the year of registration can only be the cohort's own year (or not supplied):
    a cohort is the persons first registered that year, a public fact of its definition, so
    the other years' cells are structurally empty and not measured (no noise added to them).
    """
    f = SCHEMA.field(field_name)
    if f.type == "year" and cohort is not None and field_name == COHORT_YEAR:
        values: tuple[object, ...] = (cohort,)
    elif f.type == "year":
        values = tuple(range(year_min, datetime.now(UTC).year + 1))
    elif f.type == "flag":
        values = (True, False)
    else:
        values = SCHEMA.vocabulary_of(f).codes
    return (*values, None)


def cells(dimensions: tuple[str, ...], year_min: int, cohort: int | None = None) -> list[Cell]:
    return list(itertools.product(*(domain(d, year_min, cohort) for d in dimensions)))


def _normalise(value: object, dimension: str) -> object:
    """A stored value as the domain writes it (SQLite may hand a flag back as an integer)."""
    if isinstance(value, int) and SCHEMA.field(dimension).type == "flag":
        return bool(value)
    return value


def exact_counts(
    conn: sa.Connection, dimensions: tuple[str, ...], year_min: int,
    source: Source | None = None,
) -> dict[Cell, int]:
    """Count cases per cell of the full public domain (empty cells are zero), one scan.

    Rows whose value lies outside the domain (e.g. a year before ``year_min``) are dropped:
    dropping rows never increases one case's contribution, so sensitivity stays 1.
    A release counts all its tables at once with :func:`exact_counts_many`; this direct
    ``GROUP BY`` of one table is what that must equal.
    """
    counted = _source(source)
    cols = [counted.c[d] for d in dimensions]
    query = sa.select(*cols, sa.func.count()).group_by(*cols)
    normalised: dict[Cell, int] = {}
    for row in conn.execute(query):
        key = tuple(_normalise(v, d) for v, d in zip(row[:-1], dimensions, strict=True))
        # Distinct stored values can read back as one value (1 and 2 in an SQLite flag).
        normalised[key] = normalised.get(key, 0) + int(row[-1])
    return {cell: normalised.get(cell, 0) for cell in cells(dimensions, year_min)}


def scan_plan(dimension_sets: Iterable[tuple[str, ...]],
              max_columns: int | None = None) -> list[tuple[str, ...]]:
    """The groupings to count so that every dimension set is a subset of one of them.

    Dimension sets contained in another are covered by it; the remaining (maximal) ones
    are merged greedily, largest first, into the first grouping whose union stays within
    ``max_columns`` columns. Without a limit that is one grouping: the union of all
    dimensions, one scan of the cases. Its result has at most one row per case, and in
    practice far fewer (the combinations present), so the limit is only a memory valve.
    """
    distinct = list(dict.fromkeys(tuple(s) for s in dimension_sets))
    maximal = [s for s in distinct if not any(set(s) < set(t) for t in distinct)]
    groupings: list[list[str]] = []
    for dims in sorted(maximal, key=len, reverse=True):  # stable: spec order among equals
        for grouping in groupings:
            union = [*grouping, *(d for d in dims if d not in grouping)]
            if max_columns is None or len(union) <= max_columns:
                grouping[:] = union
                break
        else:
            groupings.append(list(dims))
    return [tuple(g) for g in groupings]


@dataclass(frozen=True)
class Grouped:
    """The result of one ``GROUP BY``: the stored value combinations present, and counts."""

    dimensions: tuple[str, ...]
    values: tuple[np.ndarray, ...]  # one object array per dimension, one entry per group
    counts: np.ndarray  # int64, one per group


def _grouped(dimensions: tuple[str, ...], rows: Sequence[sa.Row[Any]]) -> Grouped:
    columns = list(zip(*rows, strict=True)) if rows else [()] * (len(dimensions) + 1)
    values = []
    for column in columns[:-1]:
        array = np.empty(len(rows), dtype=object)
        array[:] = column
        values.append(array)
    return Grouped(dimensions, tuple(values), np.asarray(columns[-1], dtype=np.int64))


def _group_by_query(dimensions: tuple[str, ...], source: Source | None = None
                    ) -> sa.Select[Any]:
    counted = _source(source)
    cols = [counted.c[d] for d in dimensions]
    return sa.select(*cols, sa.func.count()).group_by(*cols)


def group_by(conn: sa.Connection, dimensions: tuple[str, ...]) -> Grouped:
    """One scan of the counted cases, grouped by ``dimensions`` (NULL is a group)."""
    return _grouped(dimensions, conn.execute(_group_by_query(dimensions)).all())


def group_by_parts(conn: sa.Connection, dimensions: tuple[str, ...],
                   part_size: int = PART_SIZE, source: Source | None = None
                   ) -> Iterator[Grouped]:
    """The same groups as :func:`group_by`, fetched ``part_size`` at a time."""
    result = conn.execute(_group_by_query(dimensions, source),
                          execution_options={"yield_per": part_size})
    for rows in result.partitions():
        yield _grouped(dimensions, rows)


def _domain_codes(values: np.ndarray, dimension: str, year_min: int,
                  cohort: int | None = None) -> tuple[np.ndarray, int]:
    """Each group's position in the dimension's domain; ``len(domain)`` when outside it."""
    dom = domain(dimension, year_min, cohort)
    position = {v: i for i, v in enumerate(dom)}
    found, uniques = pd.factorize(values, use_na_sentinel=True)  # NULL -> -1
    # One entry per distinct stored value, then NULL last, so that -1 picks "not supplied".
    lookup = np.array([position.get(_normalise(v, dimension), len(dom)) for v in uniques]
                      + [position[None]], dtype=np.int64)
    codes: np.ndarray = lookup[found]
    return codes, len(dom)


def table_counts(grouped: Grouped, dimensions: tuple[str, ...], year_min: int,
                 codes: dict[str, tuple[np.ndarray, int]] | None = None,
                 cohort: int | None = None) -> np.ndarray:
    """A table's exact counts in the order of ``cells(dimensions, year_min)``.

    Summed out of a grouping that contains the table's dimensions. Every dimension gets
    one extra slot for values outside its domain: summed over when the dimension is
    summed away (those cases still count in the coarser table), cut off when it is one of
    the table's own (they are never published).
    """
    if not set(dimensions) <= set(grouped.dimensions):
        raise ValueError(f"{dimensions} is not within the grouping {grouped.dimensions}")
    codes = {} if codes is None else codes
    sizes = []
    index = np.zeros(len(grouped.counts), dtype=np.int64)
    for d in dimensions:
        if d not in codes:
            codes[d] = _domain_codes(grouped.values[grouped.dimensions.index(d)], d, year_min,
                                     cohort)
        code, size = codes[d]
        index = index * (size + 1) + code
        sizes.append(size)
    slots = math.prod(s + 1 for s in sizes)
    summed = np.bincount(index, weights=grouped.counts, minlength=slots)
    inside = summed.reshape([s + 1 for s in sizes])[tuple(slice(0, s) for s in sizes)]
    # Float sums of integer counts are exact up to 2**53 cases.
    return np.rint(inside).astype(np.int64).reshape(-1)


def exact_counts_many(conn: sa.Connection, dimension_sets: Sequence[tuple[str, ...]],
                      year_min: int, *, max_columns: int | None = None,
                      part_size: int = PART_SIZE, source: Source | None = None
                      ) -> list[np.ndarray]:
    """Every table's exact counts (``cells`` order), from one scan per :func:`scan_plan`.

    Equal, cell for cell, to :func:`exact_counts` of each table on its own. A grouping's
    result is read in parts and every table it covers is summed part by part, so memory
    stays bounded by ``part_size`` groups plus the tables' own cells even when the
    grouping has nearly as many combinations as there are cases.
    """
    groupings = scan_plan(dimension_sets, max_columns)
    home = [next(i for i, g in enumerate(groupings) if set(dims) <= set(g))
            for dims in dimension_sets]
    out = [np.zeros(math.prod(len(domain(d, year_min)) for d in dims), dtype=np.int64)
           for dims in dimension_sets]
    for i, grouping in enumerate(groupings):
        for part in group_by_parts(conn, grouping, part_size, source):
            codes: dict[str, tuple[np.ndarray, int]] = {}
            for j, dims in enumerate(dimension_sets):
                if home[j] == i:
                    out[j] += table_counts(part, tuple(dims), year_min, codes)
    return out


def exact_counts_by_cohort(conn: sa.Connection, source: Source,
                           dimension_sets: Sequence[tuple[str, ...]], year_min: int,
                           cohorts: Sequence[int], *, part_size: int = PART_SIZE
                           ) -> dict[int, list[np.ndarray]]:
    """Every table's exact counts for every cohort (``cells(dims, year_min, cohort)`` order).

    The same single scan as :func:`exact_counts_many`, grouped by the cohort as well; each
    group belongs to one cohort, so splitting the groups by cohort and summing each table out
    of its cohort's groups gives, per cohort, exactly what a scan of that cohort alone would.
    ``source`` must have a ``cohort`` column (the materialised snapshot). Cohorts not listed
    are not counted at all.
    """
    wanted = list(dict.fromkeys(cohorts))
    groupings = scan_plan(dimension_sets)
    home = [next(i for i, g in enumerate(groupings) if set(dims) <= set(g))
            for dims in dimension_sets]
    out = {c: [np.zeros(math.prod(len(domain(d, year_min, c)) for d in dims), dtype=np.int64)
               for dims in dimension_sets] for c in wanted}
    for i, grouping in enumerate(groupings):
        for part in group_by_parts(conn, ("cohort", *grouping), part_size, source):
            cohort_of = np.asarray([int(v) for v in part.values[0]], dtype=np.int64)
            for c in wanted:
                mask = cohort_of == c
                if not mask.any():
                    continue
                sub = Grouped(tuple(grouping), tuple(v[mask] for v in part.values[1:]),
                              part.counts[mask])
                codes: dict[str, tuple[np.ndarray, int]] = {}
                for j, dims in enumerate(dimension_sets):
                    if home[j] == i:
                        out[c][j] += table_counts(sub, tuple(dims), year_min, codes, c)
    return out
