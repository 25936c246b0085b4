"""The public step: seeded and reproducible, rounding and raking exact, dependence preserved."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from privacy.synthetic.domain import Domain, encode
from privacy.synthetic.marginal import measure
from privacy.synthetic.model import rake, round_counts
from privacy.synthetic.spec import SyntheticSpec
from privacy.synthetic.synthesizer import generate
from tests.privacy.synthetic.conftest import COLUMNS


def test_same_seed_reproduces_the_rows(frame_20k: pd.DataFrame) -> None:
    spec = SyntheticSpec(columns=COLUMNS, rho=0.25)
    meas = measure(frame_20k, spec)
    first = generate(meas, spec, seed=11)
    pd.testing.assert_frame_equal(first, generate(meas, spec, seed=11))
    assert not first.equals(generate(meas, spec, seed=12))


def test_dependence_is_preserved_within_the_noise(frame_20k: pd.DataFrame) -> None:
    """gender x is_sexual_exploit: real shares against synthetic, with a tolerance from the
    noise scale of the measured table that contains both (a synthesizer that lost the link
    would be ~0.35 off in total variation)."""
    spec = SyntheticSpec(columns=COLUMNS, rho=0.05)
    meas = measure(frame_20k, spec)
    synth = generate(meas, spec, seed=3)
    dom = Domain.of(COLUMNS, spec.year_min)
    g, s = COLUMNS.index("gender"), COLUMNS.index("is_sexual_exploit")
    cells = dom.sizes[g] * dom.sizes[s]

    def shares(frame: pd.DataFrame) -> np.ndarray:
        codes = encode(frame, dom)
        return np.bincount(codes[:, g] * dom.sizes[s] + codes[:, s], minlength=cells) / len(codes)

    table = next(t for t in meas.tables.values()
                 if {"gender", "is_sexual_exploit"} <= set(t.columns))
    # Summing a 3-way table down to the pair adds the noise of the cells summed over.
    summed = table.counts.size / cells
    noise_tvd = 0.5 * math.sqrt(2 / math.pi) * table.scale * math.sqrt(summed) * cells / meas.n_hat
    tolerance = 3 * noise_tvd + cells / meas.n_hat  # noise, then rounding of each cell
    tvd = 0.5 * np.abs(shares(frame_20k) - shares(synth)).sum()
    assert tvd <= tolerance, (tvd, tolerance)
    independent = np.outer(shares(frame_20k).reshape(dom.sizes[g], -1).sum(1),
                           shares(frame_20k).reshape(dom.sizes[g], -1).sum(0)).ravel()
    assert 0.5 * np.abs(shares(frame_20k) - independent).sum() > 10 * tolerance


@given(arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 6)),
              elements=st.floats(0, 1)), st.integers(0, 2**32 - 1))
@settings(max_examples=50, deadline=None)
def test_rounding_keeps_row_totals_and_stays_within_one(weights: np.ndarray, seed: int) -> None:
    totals = np.arange(len(weights), dtype=np.float64) * 7
    safe = weights + 1e-3
    expected = safe / safe.sum(axis=1, keepdims=True) * totals[:, None]
    counts = round_counts(expected, np.random.default_rng(seed))
    assert (counts >= 0).all()
    assert (counts.sum(axis=1) == totals).all()
    assert (np.abs(counts - expected) < 1 + 1e-9).all()


def test_raking_reaches_both_margins() -> None:
    rng = np.random.default_rng(0)
    weights = rng.random((4, 3)) + 0.01
    rows = np.array([10.0, 0.0, 25.0, 5.0])
    cols = np.array([20.0, 15.0, 5.0])
    fitted = rake(weights, rows, cols, iterations=200)
    assert np.allclose(fitted.sum(axis=1), rows) and np.allclose(fitted.sum(axis=0), cols)
