"""DP tables: counted in the database over public domains only, measured per cohort from the
materialised snapshot through the accountant, summed over cohorts and reconciled."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from privacy import snapshot
from privacy.accountant import Accountant
from privacy.counts import cells, domain, exact_counts
from privacy.dp_tables import PRODUCT, CohortMeasurement, DpTable, combine, measure
from privacy.ledger import Budget
from privacy.noise import OPENDP, NoiseSource, SeededNoise, gaussian_measurement
from privacy.plan import make_plan
from privacy.spec import DpTablesSpec, ReleaseSpec, parse_spec
from schemas.definition import SCHEMA
from schemas.errors import InputRejected
from schemas.tables import cases, organisations, snapshot_cases, uploads

YEAR_MIN = 2015
COHORTS = (2021, 2022)


def _seed(engine: sa.Engine, rows: list[dict[str, object]]) -> None:
    """Cases whose cohort is their year of registration (what harmonize stores for a first
    record), or ``cohort`` when a row gives one."""
    with engine.begin() as conn:
        conn.execute(organisations.insert().values(id=1, slug="a", name="A"))
        conn.execute(uploads.insert().values(id=1, org_id=1, filename="f", size=1, sha256="0" * 64,
                                             status="harmonised"))
        conn.execute(cases.insert(), [
            {"case_key": f"{i:064d}", "org_id": 1, "upload_id": 1, "mapping_version": "a/1",
             "ingested_at": pd.Timestamp("2024-01-01", tz="UTC").to_pydatetime(),
             "cohort": r.get("year_of_registration") or 2024, **r}
            for i, r in enumerate(rows)])


ROWS = ([{"year_of_registration": 2021, "country_of_exploitation": "LBY", "gender": "female"}] * 30
        + [{"year_of_registration": 2022, "country_of_exploitation": "NER", "gender": "male"}] * 12
        + [{"year_of_registration": 2022, "country_of_exploitation": None, "gender": "unknown"}] * 3
        + [{"year_of_registration": 2001, "country_of_exploitation": "LBY", "gender": None}] * 2)


def _measure(engine: sa.Engine, spec: DpTablesSpec, cohorts: tuple[int, ...] = COHORTS,
             noise: NoiseSource = OPENDP) -> tuple[dict[tuple[int, str], CohortMeasurement],
                                                   Accountant]:
    """What a release does for its DP tables: materialise the snapshot, then measure every
    table of every cohort through one accountant allotted the spec's rho per cohort."""
    accountant = Accountant({(c, PRODUCT): Budget(rho=Fraction(str(spec.rho)))
                             for c in cohorts})
    with engine.begin() as conn:
        snap = snapshot.materialise(conn)
    with engine.connect() as conn:
        measured = measure(conn, snap.rows(), spec, YEAR_MIN, {c: spec.tables for c in cohorts},
                           accountant, noise=noise.derive("dp-tables"))
    return measured, accountant


def _tables(engine: sa.Engine, spec: DpTablesSpec, cohorts: tuple[int, ...] = COHORTS,
            noise: NoiseSource = OPENDP) -> list[DpTable]:
    measured, _ = _measure(engine, spec, cohorts, noise)
    return combine(spec, YEAR_MIN, measured, noise_kind=noise.kind)


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
    # One cohort's year of registration is its own year (or not supplied): the other years'
    # cells are empty by the cohort's public definition and are not measured.
    assert domain("year_of_registration", 2015, cohort=2021) == (2021, None)
    assert domain("gender", 2015, cohort=2021) == domain("gender", 2015)


def test_tables_are_noisy_non_negative_flagged_and_numeric(engine: sa.Engine) -> None:
    _seed(engine, ROWS)
    spec = DpTablesSpec(rho=1.0, threshold=5, tables=[
        {"name": "by_gender", "title": "t", "dimensions": ["gender"]}])
    (table,) = _tables(engine, spec)
    frame = table.frame
    assert list(frame.columns) == ["gender", "count", "lower_95", "upper_95", "flag"]
    assert frame["gender"].tolist()[:-1] == list(SCHEMA.vocabularies["gender"].codes)
    assert (frame["count"].dropna() >= 0).all()
    assert str(frame["count"].dtype) == "Int64"
    assert set(frame["flag"].dropna()) <= {"c", "u"}
    withheld = frame["flag"] == "c"
    assert frame.loc[withheld, "count"].isna().all()
    assert table.rho == Fraction(1)
    assert table.cohorts == COHORTS
    # The raw measurements: every cell, unbiased sums of the cohorts' noisy counts, with the
    # variance of the sum (the cohorts' independent noises add up).
    raw = table.raw
    assert list(raw.columns) == ["gender", "estimate", "variance"]
    assert len(raw) == len(frame) and str(raw["estimate"].dtype) == "Int64"
    assert raw["variance"].tolist() == pytest.approx([len(COHORTS) * table.scale**2] * len(raw))
    female = raw.loc[raw["gender"] == "female"].iloc[0]
    assert abs(female["estimate"] - 30) <= 5.5 * np.sqrt(female["variance"]) + 1
    published = frame.loc[frame["gender"] == "female", "count"].iloc[0]
    assert abs(published - 30) <= 5.5 * np.sqrt(female["variance"]) + 1


def test_a_cohort_is_measured_only_over_its_own_cells(engine: sa.Engine) -> None:
    _seed(engine, ROWS)
    spec = DpTablesSpec(rho=0.5, tables=[
        {"name": "yg", "title": "yg", "dimensions": ["year_of_registration", "gender"]}])
    measured, _ = _measure(engine, spec)
    for cohort in COHORTS:
        m = measured[cohort, "yg"]
        assert m.keys == cells(("year_of_registration", "gender"), YEAR_MIN, cohort)
        assert {k[0] for k in m.keys} == {cohort, None}
        # The published (later frozen) file reads back to the same measurement.
        again = CohortMeasurement.from_csv(m.table, cohort, m.to_csv(), YEAR_MIN)
        assert again is not None and again.keys == m.keys and again.scale == m.scale
        assert again.noisy.tolist() == m.noisy.tolist()
        # Read as another cohort's, its cells do not match: it is never reused as such.
        assert CohortMeasurement.from_csv(m.table, cohort + 1, m.to_csv(), YEAR_MIN) is None
    (table,) = combine(spec, YEAR_MIN, measured)
    frame = table.frame
    # A year no measured cohort covers is withheld, never noise over nothing.
    assert frame.loc[frame["year_of_registration"] == 2018, "flag"].eq("c").all()
    raw = table.raw.set_index(["year_of_registration", "gender"])
    m21 = dict(zip(measured[2021, "yg"].keys, measured[2021, "yg"].noisy, strict=True))
    assert raw.loc[(2021, "female"), "estimate"] == m21[(2021, "female")]


def test_budget_split_is_exact_planned_before_data_and_charged_by_opendp(
        engine: sa.Engine) -> None:
    spec = ReleaseSpec(dp_tables=DpTablesSpec(rho=0.3, tables=[
        {"name": "a", "title": "a", "dimensions": ["gender"], "weight": 1},
        {"name": "b", "title": "b", "dimensions": ["age_broad"], "weight": 2}]))
    tables = spec.dp_tables
    assert [tables.rho_of(t) for t in tables.tables] == [Fraction(1, 10), Fraction(2, 10)]
    # The plan is made from the cohorts' state alone, before any case is read: every open
    # cohort of the public domain is allotted the tables' whole rho, exactly.
    with engine.connect() as conn:
        plan = make_plan(conn, spec)
    budgets = plan.budgets()
    assert sorted(budgets) == list(range(spec.year_min, pd.Timestamp.now("UTC").year + 1))
    assert set(budgets.values()) == {Budget(rho=Fraction(3, 10))}
    # What is charged is what OpenDP's privacy map says of each measurement actually made:
    # within the allotment, and exactly the map of the scale the table was measured at.
    _seed(engine, ROWS)
    measured, accountant = _measure(engine, tables)
    for s in accountant.spends:
        m = measured[s.cohort, s.item]
        assert s.product == PRODUCT and s.rho is not None
        assert s.rho == Fraction(gaussian_measurement(m.scale).map(1))
        assert s.rho <= tables.rho_of(m.table)
    assert sorted((s.cohort, s.item) for s in accountant.spends) == sorted(measured)
    for b in accountant.by_cohort().values():
        assert b.rho <= Fraction(3, 10) and b.rho > Fraction(3, 10) * (1 - Fraction(1, 10**9))


def test_spec_rejects_fields_without_a_public_domain() -> None:
    with pytest.raises(InputRejected):
        parse_spec("dp_tables: {rho: 0.1, tables: [{name: t, title: t, dimensions: [case_key]}]}")
    with pytest.raises(InputRejected):
        parse_spec("dp_tables: {rho: 0.1, tables: [{name: t, title: t, dimensions: [cohort]}]}")
    with pytest.raises(InputRejected):
        parse_spec("dp_tables: {rho: -1, tables: [{name: t, title: t, dimensions: [gender]}]}")


def test_the_snapshot_holds_the_counted_cases_with_the_internal_dtypes(
        engine: sa.Engine) -> None:
    from schemas.dtypes import pandas_dtype

    _seed(engine, ROWS)
    with engine.begin() as conn:  # a second record of a person is never in the snapshot
        first = conn.execute(sa.select(cases.c.case_key).limit(1)).scalar_one()
        conn.execute(cases.update().where(cases.c.case_key == f"{len(ROWS) - 1:064d}")
                     .values(duplicate_of=first))
    with engine.begin() as conn:
        snap = snapshot.materialise(conn)
    with engine.connect() as conn:
        frame = snap.frame(conn)
        one = snap.frame(conn, 2021)
        stored = conn.execute(sa.select(sa.func.count()).select_from(snapshot_cases)).scalar()
    assert len(frame) == stored == len(ROWS) - 1
    assert "case_key" not in frame.columns and "org_id" not in frame.columns
    for f in SCHEMA.case_fields:
        assert frame[f.name].dtype == pandas_dtype(f), f.name
    assert (frame["gender"] == "female").sum() == 30
    assert len(one) == 30 and set(one["year_of_registration"]) == {2021}
    with engine.begin() as conn:
        snapshot.clear(conn)
        assert conn.execute(sa.select(sa.func.count()).select_from(snapshot_cases)).scalar() == 0


def test_published_tables_agree_with_their_margins(engine: sa.Engine) -> None:
    """The reconciled counts add up to their margins; a cell withheld by the publication
    rule hides its share, so the published fine cells of a margin add up to at most it, and
    exactly to it when all of them are published."""
    rows = [{"year_of_registration": 2021, "country_of_exploitation": None, "gender": g,
             "is_forced_labour": f}
            for g in ("female", "male") for f in (True, False, None) for _ in range(40)]
    _seed(engine, rows + [{**r, "is_forced_labour": None} for r in ROWS])
    spec = DpTablesSpec(rho=0.5, threshold=0, tables=[
        {"name": "g", "title": "g", "dimensions": ["gender"]},
        {"name": "gf", "title": "gf", "dimensions": ["gender", "is_forced_labour"]}])
    coarse, fine = _tables(engine, spec)
    checked = 0
    for _, row in coarse.frame.iterrows():
        same = (fine.frame["gender"] == row["gender"] if pd.notna(row["gender"])
                else fine.frame["gender"].isna())
        parts = fine.frame.loc[same.fillna(False), "count"]
        if pd.isna(row["count"]):
            continue
        if parts.notna().all():
            assert parts.sum() == row["count"]
            checked += 1
        else:
            assert parts.dropna().sum() <= row["count"]
    assert checked >= 2  # female and male: 40 persons in each of their cells


def test_a_category_only_in_the_data_is_never_published(engine: sa.Engine) -> None:
    _seed(engine, ROWS + [{"year_of_registration": 2021, "country_of_exploitation": "LBY",
                           "gender": "zz-only-in-data"}] * 40)
    spec = DpTablesSpec(rho=1.0, threshold=0, tables=[
        {"name": "g", "title": "g", "dimensions": ["gender"]},
        {"name": "yg", "title": "yg", "dimensions": ["year_of_registration", "gender"]}])
    measured, _ = _measure(engine, spec)
    for m in measured.values():
        assert b"zz-only-in-data" not in m.to_csv()
    for t in combine(spec, YEAR_MIN, measured):
        assert "zz-only-in-data" not in t.frame.to_csv()
        assert "zz-only-in-data" not in t.raw.to_csv()
        published = set(t.frame["gender"].dropna())
        assert published <= set(SCHEMA.vocabularies["gender"].codes)


def test_a_seeded_release_reproduces_and_table_order_does_not_matter(engine: sa.Engine) -> None:
    _seed(engine, ROWS)
    tables = [{"name": "g", "title": "g", "dimensions": ["gender"]},
              {"name": "yc", "title": "yc",
               "dimensions": ["year_of_registration", "country_of_exploitation"]}]
    spec = DpTablesSpec(rho=0.5, threshold=0, tables=tables)
    reordered = DpTablesSpec(rho=0.5, threshold=0, tables=tables[::-1])
    seed = "5be0c1d2e3f4a5b6c7d8e9f0a1b2c3d4"

    def run(s: DpTablesSpec, source: SeededNoise) -> dict[str, str]:
        return {t.spec.name: t.frame.to_csv() + t.raw.to_csv() for t in _tables(engine, s,
                                                                               noise=source)}

    first = run(spec, SeededNoise.from_seed(seed, "snap"))
    assert run(spec, SeededNoise.from_seed(seed, "snap")) == first
    assert run(reordered, SeededNoise.from_seed(seed, "snap")) == first
    assert run(spec, SeededNoise.from_seed(seed, "another snapshot")) != first
    seeded = _tables(engine, spec, noise=SeededNoise.from_seed(seed, "snap"))
    csprng = _tables(engine, spec)
    for a, b in zip(seeded, csprng, strict=True):
        assert (a.rho, a.epsilon, a.scale, a.accuracy95) == (b.rho, b.epsilon, b.scale,
                                                              b.accuracy95)
        assert (a.noise, b.noise) == ("seeded", "opendp-csprng")
    # Both kinds of noise are charged the same, by the same privacy map.
    _, seeded_acc = _measure(engine, spec, noise=SeededNoise.from_seed(seed, "snap"))
    _, csprng_acc = _measure(engine, spec)
    assert seeded_acc.spends == csprng_acc.spends
