"""The private step: spends add up exactly, OpenDP's maps stay within them, structure is found."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from privacy.synthetic.marginal import (
    ONE_WAY_SHARE,
    SELECT_SHARE,
    measure,
    project_simplex,
    selection_scale,
)
from privacy.synthetic.spec import SyntheticSpec
from tests.privacy.synthetic.conftest import COLUMNS


def test_spends_add_up_to_the_budget_and_cover_opendp_maps(frame_20k: pd.DataFrame) -> None:
    spec = SyntheticSpec(columns=COLUMNS, rho=0.25)
    meas = measure(frame_20k, spec)
    spends = {s.item: s for s in meas.spends}
    assert sum(s.rho for s in meas.spends if s.rho is not None) == Fraction(1, 4)
    assert all(s.product == "dp-synthetic" and s.delta == spec.delta for s in meas.spends)
    one_way = spends["one-way marginals"].rho
    select = spends["structure selection"].rho
    tables = spends["network marginals"].rho
    assert one_way == Fraction(1, 4) * ONE_WAY_SHARE
    assert select == Fraction(1, 4) * SELECT_SHARE
    assert one_way is not None and select is not None and tables is not None
    # What OpenDP's privacy maps say each measurement costs, summed per item, is within it.
    assert sum(t.rho_map for t in meas.one_way) <= float(one_way)
    assert sum(s.rho_map for s in meas.selections) <= float(select)
    assert sum(t.rho_map for t in meas.tables.values()) <= float(tables)
    assert all(t.rho_map <= float(t.rho) for t in (*meas.one_way, *meas.tables.values()))
    assert all(s.rho_map <= float(s.rho) for s in meas.selections)
    assert len(meas.selections) == len(COLUMNS) - 1


def test_a_single_column_spends_everything_on_its_marginal(frame_20k: pd.DataFrame) -> None:
    meas = measure(frame_20k, SyntheticSpec(columns=("gender",), rho=0.1))
    assert [(s.item, s.rho) for s in meas.spends] == [("one-way marginals", Fraction(1, 10))]
    assert meas.tables == {} and meas.order == (0,)


def test_the_strong_dependence_is_measured(frame_20k: pd.DataFrame) -> None:
    meas = measure(frame_20k, SyntheticSpec(columns=COLUMNS, rho=0.25))
    pairs = [set(t.columns) for t in meas.tables.values()]
    assert any({"gender", "is_sexual_exploit"} <= p for p in pairs)
    # Every column is in the network exactly once, after its parents.
    assert sorted(meas.order) == list(range(len(COLUMNS)))
    position = {c: i for i, c in enumerate(meas.order)}
    for child in meas.order[1:]:
        assert all(position[c] < position[child] for c, _ in meas.parents[child])


def test_noisy_counts_are_integers_over_the_public_domain(frame_20k: pd.DataFrame) -> None:
    meas = measure(frame_20k, SyntheticSpec(columns=COLUMNS, rho=0.25))
    for t, size in zip(meas.one_way, meas.domain.sizes, strict=True):
        assert t.counts.shape == (size,) and t.counts.dtype == np.int64
    # The estimate of n is close to the rows in the domain (years from 2015 or missing).
    years = frame_20k["year_of_registration"]
    n = int((years.isna() | (years >= 2015)).sum())
    assert abs(meas.n_hat - n) < 6 * meas.n_hat_sd + 1


@given(st.fractions(min_value=Fraction(1, 10_000), max_value=Fraction(10)))
@settings(max_examples=20, deadline=None)
def test_selection_scale_stays_within_rho(rho: Fraction) -> None:
    from privacy.synthetic.marginal import SCORE_SENSITIVITY, _noisy_max

    scale = selection_scale(rho)
    assert _noisy_max(scale).map(SCORE_SENSITIVITY) <= float(rho)
    assert _noisy_max(scale * 0.999).map(SCORE_SENSITIVITY) > float(rho) * 0.99


@given(arrays(np.float64, st.integers(1, 40), elements=st.floats(-1e4, 1e4)),
       st.floats(0.0, 1e5))
@settings(max_examples=60, deadline=None)
def test_projection_is_onto_the_simplex(y: np.ndarray, total: float) -> None:
    x = project_simplex(y, total)
    assert (x >= 0).all()
    assert abs(x.sum() - total) <= 1e-6 * max(total, 1) + 1e-6 * float(np.abs(y).sum())
    # A point already on the simplex is its own projection.
    again = project_simplex(x, total)
    assert np.allclose(again, x, atol=1e-6 * max(total, 1))
