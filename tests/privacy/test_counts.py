"""Exact counts of many tables from few scans equal one GROUP BY per table, cell for cell."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privacy.counts import (
    PART_SIZE,
    cells,
    domain,
    exact_counts,
    exact_counts_many,
    group_by,
    scan_plan,
    table_counts,
)
from schemas.tables import cases, organisations, uploads

DIMS = ("year_of_registration", "gender", "age_broad", "country_of_exploitation",
        "is_forced_labour", "is_sexual_exploit", "data_source")
NEXT_YEAR = datetime.now(UTC).year + 1
# Values a case may hold that no public domain has: before year_min, after this year, codes
# that exist only in the data.
OUTSIDE: dict[str, list[object]] = {
    "year_of_registration": [2001, 2016, NEXT_YEAR],  # 2016 is outside when year_min=2019
    "gender": ["zz-only-in-data"],
    "age_broad": ["zz-only-in-data"],
    "country_of_exploitation": ["ZZZ"],
    "data_source": ["zz-only-in-data"],
    "is_forced_labour": [],
    "is_sexual_exploit": [],
}


def _value(d: str) -> st.SearchStrategy[object]:
    inside = [*domain(d, 2015)[:4], None]  # a few codes, and "not supplied"
    return st.sampled_from(inside + OUTSIDE[d])


CASE = st.fixed_dictionaries({d: _value(d) for d in DIMS}
                             | {"duplicate": st.booleans()})
TABLE = st.lists(st.sampled_from(DIMS), min_size=1, max_size=3, unique=True).map(tuple)
TABLES = st.lists(TABLE, min_size=1, max_size=6, unique=True)


def _start(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(organisations.insert().values(id=1, slug="a", name="A"))
        conn.execute(uploads.insert().values(id=1, org_id=1, filename="f", size=1,
                                             sha256="0" * 64, status="harmonised"))


@pytest.fixture
def started(engine: sa.Engine) -> sa.Engine:
    """A migrated database of each kind with the organisation and upload cases point to."""
    _start(engine)
    return engine


def _load(engine: sa.Engine, rows: list[dict[str, object]]) -> None:
    with engine.begin() as conn:
        conn.execute(cases.delete())
        if rows:
            conn.execute(cases.insert(), [
                {"case_key": f"{i:064d}", "org_id": 1, "upload_id": 1, "mapping_version": "a/1",
                 "ingested_at": pd.Timestamp("2024-01-01", tz="UTC").to_pydatetime(),
                 "cohort": 2024,
                 # A record marked as another's duplicate is never counted.
                 "duplicate_of": f"{0:064d}" if r["duplicate"] else None,
                 **{d: r[d] for d in DIMS}}
                for i, r in enumerate(rows)])


def _by_hand(rows: list[dict[str, object]], dims: tuple[str, ...], year_min: int) -> list[int]:
    """The counts from their definition, without SQL: one per case, its cell if published."""
    allowed = cells(dims, year_min)
    found = dict.fromkeys(allowed, 0)
    for r in rows:
        key = tuple(r[d] for d in dims)
        if not r["duplicate"] and key in found:
            found[key] += 1
    return [found[c] for c in allowed]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=st.lists(CASE, max_size=60), tables=TABLES, year_min=st.sampled_from([2015, 2019]),
       max_columns=st.sampled_from([None, 3, 4]), part_size=st.sampled_from([PART_SIZE, 1, 7]))
def test_many_tables_from_few_scans_equal_one_group_by_each(
        started: sa.Engine, rows: list[dict[str, object]], tables: list[tuple[str, ...]],
        year_min: int, max_columns: int | None, part_size: int) -> None:
    _load(started, rows)
    with started.connect() as conn:
        many = exact_counts_many(conn, tables, year_min, max_columns=max_columns,
                                 part_size=part_size)
        for dims, derived in zip(tables, many, strict=True):
            direct = exact_counts(conn, dims, year_min)
            assert list(direct) == cells(dims, year_min)
            assert derived.tolist() == list(direct.values()), dims
            assert derived.tolist() == _by_hand(rows, dims, year_min), dims


def test_a_margin_keeps_the_cases_outside_the_domain_of_the_dimensions_summed_away(
        started: sa.Engine) -> None:
    """gender is summed out of year x gender; a case from 2001 still counts by gender."""
    rows = ([{"year_of_registration": 2001, "gender": "female"}] * 3
            + [{"year_of_registration": 2021, "gender": "female"}] * 2
            + [{"year_of_registration": None, "gender": None}] * 4
            + [{"year_of_registration": 2021, "gender": "zz-only-in-data"}] * 5)
    _load(started, [{**dict.fromkeys(DIMS), **r, "duplicate": False} for r in rows])
    with started.connect() as conn:
        grouped = group_by(conn, ("year_of_registration", "gender"))
        by_gender = dict(zip(domain("gender", 2015),
                             table_counts(grouped, ("gender",), 2015).tolist(), strict=True))
        by_year = dict(zip(domain("year_of_registration", 2015),
                           table_counts(grouped, ("year_of_registration",), 2015).tolist(),
                           strict=True))
        both = exact_counts_many(conn, [("gender",), ("year_of_registration", "gender")], 2015)
    assert by_gender["female"] == 5 and by_gender[None] == 4  # 2001 counted, NULL a cell
    assert sum(by_gender.values()) == 9  # the data-only code is in no cell
    assert by_year[2021] == 7 and by_year[None] == 4  # data-only gender counted by year
    assert sum(by_year.values()) == 11  # 2001 is in no cell
    assert both[0].tolist() == list(by_gender.values())
    assert sum(both[1].tolist()) == 6  # 2021 x female and NULL x NULL only


def test_one_grouping_for_a_release_unless_limited() -> None:
    tables = [("a",), ("a", "b"), ("b", "c"), ("a", "b", "c"), ("c", "d"), ("e",)]
    assert scan_plan(tables) == [("a", "b", "c", "d", "e")]
    for limit in (1, 2, 3, 4):
        plan = scan_plan(tables, max_columns=limit)
        assert all(any(set(t) <= set(g) for g in plan) for t in tables)
        assert all(len(g) <= max(limit, 3) for g in plan)  # a table is never split
    assert scan_plan(tables, max_columns=3) == [("a", "b", "c"), ("c", "d", "e")]
    # All 3-way tables over 4 dimensions, limited to 3 columns: one scan per maximal table.
    three = list(itertools.combinations("abcd", 3))
    assert scan_plan([*three, ("a",), ("b", "d")], max_columns=3) == three


def test_flag_values_that_read_back_alike_are_added_up(tmp_path: Path) -> None:
    """SQLite keeps whatever integer it is given in a flag column; 1 and 2 both read True."""
    from ctcollab.database import make_engine, upgrade

    engine = make_engine(f"sqlite:///{tmp_path}/flags.db")
    upgrade(engine)
    _start(engine)
    _load(engine, [{**dict.fromkeys(DIMS), "is_forced_labour": True, "duplicate": False}] * 4)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE cases SET is_forced_labour = 2 WHERE case_key LIKE '%1'")
    with engine.connect() as conn:
        direct = exact_counts(conn, ("is_forced_labour",), 2015)
        (many,) = exact_counts_many(conn, [("is_forced_labour",)], 2015)
    assert direct[(True,)] == 4
    assert many.tolist() == list(direct.values())
    engine.dispose()


@pytest.mark.parametrize("max_columns", [None, 2])
def test_no_cases_gives_zeros_over_the_whole_domain(started: sa.Engine,
                                                   max_columns: int | None) -> None:
    tables = [("gender",), ("year_of_registration", "country_of_exploitation")]
    with started.connect() as conn:
        many = exact_counts_many(conn, tables, 2015, max_columns=max_columns)
    for dims, counts in zip(tables, many, strict=True):
        assert len(counts) == len(cells(dims, 2015)) and not counts.any()
