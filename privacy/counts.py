"""Exact contingency tables over public domains, counted where the data sits (SQL GROUP BY)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import sqlalchemy as sa

from schemas.definition import SCHEMA
from schemas.tables import counted_cases

Cell = tuple[object, ...]


def domain(field_name: str, year_min: int) -> tuple[object, ...]:
    """The public domain of a dimension, with None for "not supplied" last.

    Never read from data: a category that exists only in the data would leak.
    """
    f = SCHEMA.field(field_name)
    if f.type == "year":
        values: tuple[object, ...] = tuple(range(year_min, datetime.now(UTC).year + 1))
    elif f.type == "flag":
        values = (True, False)
    else:
        values = SCHEMA.vocabulary_of(f).codes
    return (*values, None)


def cells(dimensions: tuple[str, ...], year_min: int) -> list[Cell]:
    return list(itertools.product(*(domain(d, year_min) for d in dimensions)))


def exact_counts(
    conn: sa.Connection, dimensions: tuple[str, ...], year_min: int
) -> dict[Cell, int]:
    """Count cases per cell of the full public domain (empty cells are zero).

    Rows whose value lies outside the domain (e.g. a year before ``year_min``) are dropped:
    dropping rows never increases one case's contribution, so sensitivity stays 1.
    """
    counted = counted_cases().subquery()
    cols = [counted.c[d] for d in dimensions]
    query = sa.select(*cols, sa.func.count()).group_by(*cols)
    found = {tuple(row[:-1]): int(row[-1]) for row in conn.execute(query)}
    allowed = cells(dimensions, year_min)
    normalised = {tuple(bool(v) if isinstance(v, int) and SCHEMA.field(d).type == "flag" else v
                        for v, d in zip(key, dimensions, strict=True)): n
                  for key, n in found.items()}
    return {cell: normalised.get(cell, 0) for cell in allowed}
