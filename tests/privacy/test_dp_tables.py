"""DP tables: counted in the database, over public domains only, charged to the ledger."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from privacy import ledger
from privacy.counts import domain, exact_counts
from privacy.dp_tables import plan, release_tables
from privacy.errors import BudgetExceeded
from privacy.spec import DpTablesSpec, parse_spec
from schemas.definition import SCHEMA
from schemas.errors import InputRejected
from schemas.tables import cases, organisations, releases, uploads


def _seed(engine: sa.Engine, rows: list[dict[str, object]]) -> None:
    with engine.begin() as conn:
        conn.execute(organisations.insert().values(id=1, slug="a", name="A"))
        conn.execute(uploads.insert().values(id=1, org_id=1, filename="f", size=1, sha256="0" * 64,
                                             status="harmonised"))
        conn.execute(cases.insert(), [
            {"case_key": f"{i:064d}", "org_id": 1, "upload_id": 1, "mapping_version": "a/1",
             "ingested_at": pd.Timestamp("2024-01-01", tz="UTC").to_pydatetime(), **r}
            for i, r in enumerate(rows)])


ROWS = ([{"year_of_registration": 2021, "country_of_exploitation": "LBY", "gender": "female"}] * 30
        + [{"year_of_registration": 2022, "country_of_exploitation": "NER", "gender": "male"}] * 12
        + [{"year_of_registration": 2022, "country_of_exploitation": None, "gender": "unknown"}] * 3
        + [{"year_of_registration": 2001, "country_of_exploitation": "LBY", "gender": None}] * 2)


def test_exact_counts_cover_the_public_domain_with_zeros(engine: sa.Engine) -> None:
    _seed(engine, ROWS)
    with engine.connect() as conn:
        counts = exact_counts(conn, ("year_of_registration", "country_of_exploitation"), 2015)
    assert counts[(2021, "LBY")] == 30
    assert counts[(2022, "NER")] == 12
    assert counts[(2022, None)] == 3
    assert counts[(2020, "TCD")] == 0  # a cell no case is in is still published
    # Years before the public domain are dropped, never added as a new category.
    assert all(key[0] is None or key[0] >= 2015 for key in counts)
    assert sum(counts.values()) == 45
    countries = SCHEMA.vocabularies["country"].codes
    assert len(counts) == len(domain("year_of_registration", 2015)) * (len(countries) + 1)


def test_domains_come_from_vocabularies_not_data() -> None:
    assert domain("gender", 2015) == (*SCHEMA.vocabularies["gender"].codes, None)
    assert domain("is_forced_labour", 2015) == (True, False, None)


def test_tables_are_noisy_non_negative_flagged_and_numeric(engine: sa.Engine) -> None:
    _seed(engine, ROWS)
    spec = DpTablesSpec(rho=1.0, threshold=5, tables=[
        {"name": "by_gender", "title": "t", "dimensions": ["gender"]}])
    with engine.connect() as conn:
        (table,) = release_tables(conn, spec, 2015)
    frame = table.frame
    assert list(frame.columns) == ["gender", "count", "lower_95", "upper_95", "flag"]
    assert frame["gender"].tolist()[:-1] == list(SCHEMA.vocabularies["gender"].codes)
    assert (frame["count"].dropna() >= 0).all()
    assert str(frame["count"].dtype) == "Int64"
    assert set(frame["flag"].dropna()) <= {"c", "u"}
    withheld = frame["flag"] == "c"
    assert frame.loc[withheld, "count"].isna().all()
    assert table.rho == Fraction(1)
    female = frame.loc[frame["gender"] == "female", "count"].iloc[0]
    assert abs(female - 30) <= 4 * table.scale + 1


def test_budget_split_is_exact_and_planned_before_data() -> None:
    spec = DpTablesSpec(rho=0.3, tables=[
        {"name": "a", "title": "a", "dimensions": ["gender"], "weight": 1},
        {"name": "b", "title": "b", "dimensions": ["age_broad"], "weight": 2}])
    spent = plan(spec)
    assert [p.rho for p in spent] == [Fraction(1, 10), Fraction(2, 10)]
    assert sum(p.rho for p in spent) == Fraction(3, 10)


def test_ledger_refuses_a_release_over_the_cap(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        rid = conn.execute(releases.insert().values(version="v1", snapshot_hash="s", case_count=1,
                                                    spec={})).inserted_primary_key[0]
        ledger.record(conn, rid, "s", [ledger.Spend("dp-table", "t", Fraction(3, 10))])
    with engine.connect() as conn:
        assert ledger.spent(conn, "s") == Fraction(3, 10)
        ledger.check(conn, "s", Fraction(7, 10), Fraction(1))  # exactly at the cap: allowed
        with pytest.raises(BudgetExceeded) as err:
            ledger.check(conn, "s", Fraction(71, 100), Fraction(1))
        assert "0.71" in str(err.value) and "0.7" in str(err.value)
        ledger.check(conn, "other-snapshot", Fraction(1), Fraction(1))


def test_spec_rejects_fields_without_a_public_domain() -> None:
    with pytest.raises(InputRejected):
        parse_spec("dp_tables: {rho: 0.1, tables: [{name: t, title: t, dimensions: [case_key]}]}")
    with pytest.raises(InputRejected):
        parse_spec("dp_tables: {rho: -1, tables: [{name: t, title: t, dimensions: [gender]}]}")


def test_snapshot_frame_has_the_internal_dtypes(engine: sa.Engine) -> None:
    from privacy.snapshot import snapshot_frame
    from schemas.dtypes import pandas_dtype

    _seed(engine, ROWS)
    with engine.connect() as conn:
        frame = snapshot_frame(conn)
    assert len(frame) == len(ROWS)
    assert "case_key" not in frame.columns and "org_id" not in frame.columns
    for f in SCHEMA.case_fields:
        assert frame[f.name].dtype == pandas_dtype(f), f.name
    assert (frame["gender"] == "female").sum() == 30


def test_published_tables_agree_with_their_margins(engine: sa.Engine) -> None:
    _seed(engine, ROWS)
    spec = DpTablesSpec(rho=0.5, threshold=0, tables=[
        {"name": "g", "title": "g", "dimensions": ["gender"]},
        {"name": "yg", "title": "yg", "dimensions": ["year_of_registration", "gender"]}])
    with engine.connect() as conn:
        coarse, fine = release_tables(conn, spec, 2015)
    summed = fine.frame.groupby("gender", dropna=False)["count"].sum()
    for _, row in coarse.frame.iterrows():
        key = row["gender"] if pd.notna(row["gender"]) else np.nan
        assert summed.loc[key] == row["count"]


def test_a_category_only_in_the_data_is_never_published(engine: sa.Engine) -> None:
    _seed(engine, ROWS + [{"year_of_registration": 2021, "country_of_exploitation": "LBY",
                           "gender": "zz-only-in-data"}] * 40)
    spec = DpTablesSpec(rho=1.0, threshold=0, tables=[
        {"name": "g", "title": "g", "dimensions": ["gender"]},
        {"name": "yg", "title": "yg", "dimensions": ["year_of_registration", "gender"]}])
    with engine.connect() as conn:
        tables = release_tables(conn, spec, 2015)
    for t in tables:
        assert "zz-only-in-data" not in t.frame.to_csv()
        published = set(t.frame["gender"].dropna())
        assert published <= set(SCHEMA.vocabularies["gender"].codes)


def test_the_ledger_survives_a_restart(db_url: str) -> None:
    from ctcollab.database import make_engine, upgrade

    first = make_engine(db_url)
    upgrade(first)
    with first.begin() as conn:
        rid = conn.execute(releases.insert().values(version="v1", snapshot_hash="s", case_count=1,
                                                    spec={})).inserted_primary_key[0]
        ledger.record(conn, rid, "s", [ledger.Spend("dp-table", "t", Fraction(1, 4))])
    first.dispose()
    second = make_engine(db_url)
    with second.connect() as conn:
        assert ledger.spent(conn, "s") == Fraction(1, 4)
        with pytest.raises(BudgetExceeded):
            ledger.check(conn, "s", Fraction(4, 5), Fraction(1))
    second.dispose()


def test_a_seeded_release_reproduces_and_table_order_does_not_matter(engine: sa.Engine) -> None:
    from privacy.noise import SeededNoise

    _seed(engine, ROWS)
    tables = [{"name": "g", "title": "g", "dimensions": ["gender"]},
              {"name": "yc", "title": "yc",
               "dimensions": ["year_of_registration", "country_of_exploitation"]}]
    spec = DpTablesSpec(rho=0.5, threshold=0, tables=tables)
    reordered = DpTablesSpec(rho=0.5, threshold=0, tables=tables[::-1])
    seed = "5be0c1d2e3f4a5b6c7d8e9f0a1b2c3d4"

    def run(s: DpTablesSpec, source: SeededNoise) -> dict[str, str]:
        with engine.connect() as conn:
            return {t.spec.name: t.frame.to_csv() for t in release_tables(conn, s, 2015,
                                                                           noise=source)}

    first = run(spec, SeededNoise.from_seed(seed, "snap"))
    assert run(spec, SeededNoise.from_seed(seed, "snap")) == first
    assert run(reordered, SeededNoise.from_seed(seed, "snap")) == first
    assert run(spec, SeededNoise.from_seed(seed, "another snapshot")) != first
    with engine.connect() as conn:
        seeded = release_tables(conn, spec, 2015, noise=SeededNoise.from_seed(seed, "snap"))
        csprng = release_tables(conn, spec, 2015)
    for a, b in zip(seeded, csprng, strict=True):
        assert (a.rho, a.epsilon, a.scale, a.accuracy95) == (b.rho, b.epsilon, b.scale,
                                                              b.accuracy95)
        assert (a.noise, b.noise) == ("seeded", "opendp-csprng")
