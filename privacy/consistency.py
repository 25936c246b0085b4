"""Make nested noisy tables agree: inverse-variance combination, then non-negative integer rounding.

Written here because no maintained library does this for small DP contingency tables
(OpenDP stops at the noisy counts): a table whose dimensions are a subset of another's is
that table's margin, so both measure the same quantities and can be combined, and the
published integers must add up across them. All of it is post-processing of noisy values:
it costs no privacy budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class NoisyTable:
    """One table's noisy cells (over its full public domain) and their noise variance."""

    dimensions: tuple[str, ...]
    keys: pd.DataFrame  # one row per cell: the dimension values
    values: np.ndarray  # float estimates, same order as keys
    # Noise variance of each cell's estimate (one number when all cells share it). Cells of a
    # table summed over cohorts differ: a year's row is one cohort's measurement, the "not
    # supplied" row the sum of every cohort's.
    variance: float | np.ndarray


def _margin_index(fine: NoisyTable, coarse: NoisyTable) -> np.ndarray:
    """For every cell of ``fine``, the position of its cell in ``coarse``."""
    dims = list(coarse.dimensions)
    position = coarse.keys[dims].copy()
    position["__pos"] = np.arange(len(position))
    # Missing ("not supplied") is a category of its own: match it as a value, not as NaN.
    left = fine.keys[dims].astype(object).fillna("\x00missing")
    right = position.astype({d: object for d in dims}).fillna({d: "\x00missing" for d in dims})
    merged = left.merge(right, on=dims, how="left", sort=False)
    index: np.ndarray = merged["__pos"].to_numpy(dtype=int)
    return index


def combine(fine: NoisyTable, coarse: NoisyTable) -> None:
    """Best linear unbiased estimates of both tables, with ``coarse`` the margin of ``fine``.

    For each coarse cell a (variance s_a) with fine cells b_i (variances s_i): the gap
    a - sum(b) is shared out in proportion to the variances, s_i / (sum(s) + s_a), which is
    the GLS solution.
    """
    index = _margin_index(fine, coarse)
    fine_var = np.broadcast_to(np.asarray(fine.variance, dtype=float), fine.values.shape)
    coarse_var = np.broadcast_to(np.asarray(coarse.variance, dtype=float), coarse.values.shape)
    var_sums = np.bincount(index, weights=fine_var, minlength=len(coarse.values))
    sums = np.bincount(index, weights=fine.values, minlength=len(coarse.values))
    gap = coarse.values - sums
    denominator = var_sums[index] + coarse_var[index]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(denominator > 0, fine_var / denominator, 0.0)
    fine.values = fine.values + share * gap[index]
    coarse.values = np.bincount(index, weights=fine.values, minlength=len(coarse.values))


def _round_to_total(values: np.ndarray, total: int) -> np.ndarray:
    """Non-negative integers summing to ``total``, closest to ``values`` (largest remainder)."""
    clipped = np.clip(values, 0, None)
    if total <= 0:
        return np.zeros(len(values), dtype=np.int64)
    if clipped.sum() <= 0:
        clipped = np.ones(len(values))
    scaled = clipped * (total / clipped.sum())
    base: np.ndarray = np.floor(scaled).astype(np.int64)
    short = total - int(base.sum())
    if short > 0:
        order = np.argsort(-(scaled - base), kind="stable")
        base[order[:short]] += 1
    return base


def round_nested(fine: NoisyTable, coarse_integers: np.ndarray, coarse: NoisyTable) -> np.ndarray:
    """Integer fine cells that add up exactly to the already-rounded coarse cells."""
    index = _margin_index(fine, coarse)
    out = np.zeros(len(fine.values), dtype=np.int64)
    order = np.argsort(index, kind="stable")
    bounds = np.searchsorted(index[order], np.arange(len(coarse.values) + 1))
    for cell in range(len(coarse.values)):
        members = order[bounds[cell]:bounds[cell + 1]]
        if len(members):
            out[members] = _round_to_total(fine.values[members], int(coarse_integers[cell]))
    return out


def make_consistent(tables: Sequence[NoisyTable]) -> list[np.ndarray]:
    """Non-negative integers for every table, each adding up exactly to its anchor's cells.

    A table's anchor is the table with the most dimensions among those strictly contained in
    its own. First every (table, anchor) pair is combined (GLS, finest first); then integers
    are fixed coarse to fine: a table without an anchor is clipped and rounded, a table with
    one is split to sum to the anchor's integers. Rounding coarse cells first matters: summing
    clipped fine cells would add the positive part of the noise of every empty cell.
    """
    anchor: dict[int, int] = {}
    for i, t in enumerate(tables):
        subsets = [j for j, u in enumerate(tables)
                   if j != i and set(u.dimensions) < set(t.dimensions)]
        if subsets:
            anchor[i] = max(subsets, key=lambda j: len(tables[j].dimensions))
    for i in sorted(anchor, key=lambda k: -len(tables[k].dimensions)):
        combine(tables[i], tables[anchor[i]])
    result: dict[int, np.ndarray] = {}
    for i in sorted(range(len(tables)), key=lambda k: len(tables[k].dimensions)):
        if i in anchor:
            result[i] = round_nested(tables[i], result[anchor[i]], tables[anchor[i]])
        else:
            result[i] = np.clip(np.rint(tables[i].values), 0, None).astype(np.int64)
    return [result[i] for i in range(len(tables))]
