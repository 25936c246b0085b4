"""The one interface: schema-conforming rows, exact spends the ledger can record, real CTDC data."""

from __future__ import annotations

import json
from fractions import Fraction

import pandas as pd
import pytest
import sqlalchemy as sa

from privacy import ledger
from privacy.accountant import Accountant
from privacy.errors import SpecInvalid
from privacy.ledger import Budget
from privacy.mechanisms import epsilon_of
from privacy.noise import OPENDP
from privacy.synthetic import SyntheticResult, SyntheticSpec, generate, measure, synthesize
from schemas.ctdc_form import from_ctdc
from schemas.definition import SCHEMA
from schemas.dtypes import pandas_dtype
from schemas.tables import releases
from tests.conftest import CTDC_KANON, IN_CI
from tests.privacy.synthetic.conftest import COLUMNS


def assert_conforms(frame: pd.DataFrame, columns: tuple[str, ...], year_min: int) -> None:
    """Every column typed as the schema says, every value in its vocabulary or missing."""
    assert tuple(frame.columns) == columns
    for c in columns:
        f = SCHEMA.field(c)
        assert frame[c].dtype == pandas_dtype(f), c
        present = frame[c].dropna()
        if f.type in ("category", "country"):
            assert set(present.astype(str)) <= set(SCHEMA.vocabulary_of(f).codes), c
        elif f.type == "year":
            assert present.between(year_min, pd.Timestamp.now("UTC").year).all(), c
        else:
            assert set(present) <= {True, False}, c


def test_output_conforms_to_the_common_schema(frame_20k: pd.DataFrame) -> None:
    spec = SyntheticSpec(columns=COLUMNS, rho=0.2)
    result = synthesize(frame_20k, spec, seed=0)
    assert isinstance(result, SyntheticResult) and result.method == "marginal"
    assert_conforms(result.frame, COLUMNS, spec.year_min)
    # Missing is a category of its own and survives synthesis.
    assert result.frame["gender"].isna().any() and (result.frame["gender"] == "unknown").any()


def test_spends_add_up_exactly_and_report_epsilon(frame_20k: pd.DataFrame) -> None:
    spec = SyntheticSpec(columns=COLUMNS, epsilon=1.0, delta=1e-6)
    result = synthesize(frame_20k, spec, seed=0)
    assert result.rho == spec.budget_rho()
    assert all(s.product == "dp-synthetic" and s.rho is not None for s in result.spends)
    assert result.params["epsilon"] == epsilon_of(float(spec.budget_rho()), 1e-6) <= 1.0
    json.dumps(result.params)  # published as is: plain JSON


def test_the_accountant_charges_what_the_measurements_spent(frame_20k: pd.DataFrame,
                                                           engine: sa.Engine) -> None:
    """Measured through the release's accountant, every draw is charged by OpenDP's map: the
    total equals the synthesizer's own account of its spends, within the allotment, and is
    what the ledger records for the cohort."""
    spec = SyntheticSpec(columns=COLUMNS, rho=0.3)
    accountant = Accountant({(2024, "dp-synthetic"): Budget(rho=spec.budget_rho())})
    charged = accountant.source(OPENDP, 2024, "dp-synthetic", "cases_synthetic")
    meas = measure(frame_20k, spec, noise=charged)
    spent = accountant.by_cohort()[2024]
    assert spent.rho <= Fraction(3, 10)
    made = [*meas.one_way, *meas.selections, *meas.tables.values()]
    maps = sum((Fraction(m.rho_map) for m in made), Fraction(0))
    assert maps == spent.rho  # exactly the privacy maps, nothing planned re-listed
    assert spent.rho > Fraction(3, 10) * Fraction(999_999, 1_000_000)
    with engine.begin() as conn:
        rid = conn.execute(releases.insert().values(version="s1", spec={})
                           .returning(releases.c.id)).scalar_one()
        ledger.record(conn, rid, accountant.spends)
        assert ledger.totals(conn)[2024].rho == spent.rho


def test_rows_default_to_the_dp_estimate_or_follow_the_spec(frame_20k: pd.DataFrame) -> None:
    spec = SyntheticSpec(columns=COLUMNS, rho=0.2)
    meas = measure(frame_20k, spec)
    assert len(generate(meas, spec, seed=0)) == round(meas.n_hat)
    fixed = spec.model_copy(update={"rows": 1234})
    assert len(generate(meas, fixed, seed=0)) == 1234


def test_measurements_must_match_the_spec(frame_20k: pd.DataFrame) -> None:
    spec = SyntheticSpec(columns=COLUMNS, rho=0.2)
    meas = measure(frame_20k, spec)
    with pytest.raises(SpecInvalid):
        generate(meas, SyntheticSpec(columns=COLUMNS[:3], rho=0.2), seed=0)
    with pytest.raises(SpecInvalid):
        generate(meas, SyntheticSpec(columns=COLUMNS, rho=0.2, method="pac-synth"), seed=0)


def test_an_empty_snapshot_still_gives_valid_output() -> None:
    empty = pd.DataFrame({c: pd.Series([], dtype=pandas_dtype(SCHEMA.field(c)))  # type: ignore[call-overload]
                          for c in COLUMNS})
    result = synthesize(empty, SyntheticSpec(columns=COLUMNS, rho=0.1, rows=50), seed=0)
    assert_conforms(result.frame, COLUMNS, 2015)
    assert len(result.frame) == 50


@pytest.fixture(scope="module")
def ctdc_5k() -> pd.DataFrame:
    if not CTDC_KANON.exists():
        if IN_CI:
            pytest.fail(f"the CTDC file is missing in CI: {CTDC_KANON}")
        pytest.skip("the CTDC 2018 file is not available")
    raw = pd.read_csv(CTDC_KANON, dtype=str, keep_default_na=False)
    return from_ctdc(raw).sample(n=5_000, random_state=3).reset_index(drop=True)


def test_real_ctdc_sample_with_the_default_columns(ctdc_5k: pd.DataFrame) -> None:
    spec = SyntheticSpec(epsilon=2.0, year_min=2000)
    result = synthesize(ctdc_5k, spec, seed=0)
    assert_conforms(result.frame, spec.columns, 2000)
    assert abs(len(result.frame) - len(ctdc_5k)) < 6 * result.utility["n_estimate_sd"] + 1
    assert result.rho == spec.budget_rho()
    # The most frequent citizenship survives as the most frequent one.
    top = ctdc_5k["citizenship"].value_counts().index[0]
    assert result.frame["citizenship"].value_counts().index[0] == top
    published = result.to_published()
    assert list(published.columns)[:2] == ["yearOfRegistration", "Datasource"]
    assert {"CountryOfExploitation", "RecruiterRelationship"} <= set(published.columns)
