"""Reconciling nested tables: exact agreement, non-negative integers, and less error."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy.consistency import NoisyTable, combine, make_consistent

A = ["a1", "a2", "a3", None]
B = ["b1", "b2", None]


def _tables(fine_true: np.ndarray, rng: np.random.Generator, sd: float
            ) -> tuple[NoisyTable, NoisyTable, np.ndarray]:
    keys_fine = pd.DataFrame(list(itertools.product(A, B)), columns=["a", "b"])
    keys_coarse = pd.DataFrame({"a": A})
    coarse_true = fine_true.reshape(len(A), len(B)).sum(axis=1)
    fine = NoisyTable(("a", "b"), keys_fine, fine_true + rng.normal(0, sd, fine_true.size),
                      sd**2)
    coarse = NoisyTable(("a",), keys_coarse, coarse_true + rng.normal(0, sd, coarse_true.size),
                        sd**2)
    return fine, coarse, coarse_true


@given(st.lists(st.integers(0, 50), min_size=12, max_size=12), st.integers(0, 2**32 - 1))
@settings(max_examples=50, deadline=None)
def test_nested_tables_agree_exactly_and_are_non_negative(counts: list[int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    fine, coarse, _ = _tables(np.asarray(counts, dtype=float), rng, 3.0)
    fine_int, coarse_int = make_consistent([fine, coarse])
    assert (fine_int >= 0).all() and (coarse_int >= 0).all()
    assert fine_int.dtype.kind == "i"
    np.testing.assert_array_equal(fine_int.reshape(len(A), len(B)).sum(axis=1), coarse_int)


def test_combining_reduces_the_error_of_the_margin() -> None:
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 40, size=len(A) * len(B)).astype(float)
    raw_err, gls_err = [], []
    for _ in range(400):
        fine, coarse, coarse_true = _tables(truth, rng, 3.0)
        raw_err.append(np.mean((coarse.values - coarse_true) ** 2))
        combine(fine, coarse)
        gls_err.append(np.mean((coarse.values - coarse_true) ** 2))
    # Margin of 3 cells + its own measurement: variance 9 -> 9*27/(27+9)... about 25% less.
    assert np.mean(gls_err) < 0.85 * np.mean(raw_err)


def test_empty_cells_do_not_inflate_the_margins() -> None:
    # Clipping fine cells and summing them would add the positive part of every empty
    # cell's noise to the margin; rounding the margin first must not.
    rng = np.random.default_rng(2)
    truth = np.zeros(len(A) * len(B))
    totals = []
    for _ in range(300):
        fine, coarse, _ = _tables(truth, rng, 3.0)
        _, coarse_int = make_consistent([fine, coarse])
        totals.append(coarse_int.sum())
    naive = 4 * 3 * 3.0 / np.sqrt(2 * np.pi)  # what summing clipped fine cells would add
    assert np.mean(totals) < naive / 2


def test_unrelated_tables_are_only_rounded() -> None:
    keys = pd.DataFrame({"a": A})
    other = NoisyTable(("c",), pd.DataFrame({"c": ["x", None]}), np.array([4.4, -2.0]), 1.0)
    table = NoisyTable(("a",), keys, np.array([1.6, -0.4, 7.5, 0.2]), 1.0)
    first, second = make_consistent([table, other])
    assert first.tolist() == [2, 0, 8, 0] and second.tolist() == [4, 0]
