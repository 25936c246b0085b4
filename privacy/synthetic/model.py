"""Our synthesizer's public step: fit a Bayesian network to the noisy marginals and sample rows."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from privacy.synthetic.domain import Codes, decode
from privacy.synthetic.marginal import Floats, Measurements, NoisyTable, Parent, project_simplex

# Post-processing of Measurements only (no data, no budget), seeded and deterministic: the
# same measurements and seed give the same rows. Sampling is ancestral with controlled
# rounding: each parent configuration's rows get the child's values in counts rounded from
# their expected numbers, in random order, after raking the measured conditional to the
# parents' actual counts and the child's best margin estimate. The synthetic marginals then
# follow the model with far less sampling noise than drawing rows independently.

# Pseudo-counts, in units of (noise scale x sqrt(child values)), that pull each conditional
# towards the child's overall distribution: a parent configuration whose noisy row is mostly
# noise then borrows from the margin instead of inventing a pattern.
SHRINK = 0.1


@dataclass(frozen=True, eq=False)
class Model:
    """A Bayesian network over compressed codes, and how to expand compressed codes."""

    sizes: tuple[int, ...]
    order: tuple[int, ...]
    parents: tuple[tuple[Parent, ...], ...]
    views: tuple[tuple[npt.NDArray[np.int64], ...], ...]
    margins: tuple[Floats, ...]  # per column: best estimate of its compressed distribution
    conditionals: dict[int, Floats]  # child -> (parent configurations, child values) weights
    clear: tuple[npt.NDArray[np.int64], ...]  # compressed code -> public code (clear values)
    rare: tuple[npt.NDArray[np.int64], ...]  # public codes sharing the rare bucket
    rare_share: tuple[Floats, ...]  # their distribution inside the bucket


def _compress_counts(values: Floats, group: npt.NDArray[np.int64], size: int) -> Floats:
    return np.bincount(group, weights=values, minlength=size).astype(np.float64)


def _margins(meas: Measurements, sizes: tuple[int, ...]) -> tuple[Floats, ...]:
    """Each column's distribution: its 1-way marginal and its margins in every measured table,
    combined cell by cell by inverse variance (all are unbiased noisy counts of the same cells),
    then fitted to the simplex."""
    out = []
    for j, group in enumerate(meas.groups):
        one = meas.one_way[j]
        direct = _compress_counts(one.counts.ravel().astype(np.float64), group, sizes[j])
        precision = 1 / (np.bincount(group, minlength=sizes[j]) * one.scale**2)
        combined = direct * precision
        for child, table in meas.tables.items():
            # Only full-resolution axes measure column j's own cells.
            axes = (*meas.parents[child], (child, 0))
            if (j, 0) not in axes:
                continue
            others = tuple(k for k, a in enumerate(axes) if a != (j, 0))
            margin = table.counts.sum(axis=others).astype(np.float64)
            p = 1 / (table.counts.size / sizes[j] * table.scale**2)
            combined = combined + margin * p
            precision = precision + p
        fitted = project_simplex(combined / precision, meas.n_hat)
        total = fitted.sum()
        out.append(fitted / total if total > 0 else np.full(sizes[j], 1 / sizes[j]))
    return tuple(out)


def _conditional(table: NoisyTable, n_hat: float, margin: Floats) -> Floats:
    """Positive weights of the child given each parent configuration (rows need not sum to 1;
    sampling rakes them to the parents' actual counts and the child's margin)."""
    n_child = len(margin)
    fitted = project_simplex(table.counts.astype(np.float64), n_hat).reshape(-1, n_child)
    alpha = SHRINK * table.scale * math.sqrt(n_child)
    # A floor keeps every cell positive, so raking can reach any margin.
    out: Floats = fitted + alpha * margin[None, :] + 1e-9
    return out


def fit(meas: Measurements) -> Model:
    """The network's distributions, from the noisy marginals alone."""
    sizes = meas.sizes
    margins = _margins(meas, sizes)
    conditionals = {child: _conditional(t, meas.n_hat, margins[child])
                    for child, t in meas.tables.items()}
    rare, rare_share = [], []
    for j, clear in enumerate(meas.clear):
        members = np.flatnonzero(~clear)
        rare.append(members.astype(np.int64))
        noisy = np.maximum(meas.one_way[j].counts.ravel()[members].astype(np.float64), 0.0)
        # Inside the bucket, follow the noisy counts; with no signal at all, spread evenly.
        share = (noisy / noisy.sum() if noisy.sum() > 0
                 else np.full(len(members), 1 / max(len(members), 1)))
        rare_share.append(share)
    clear_codes = tuple(np.flatnonzero(c).astype(np.int64) for c in meas.clear)
    return Model(sizes, meas.order, meas.parents, meas.views, margins, conditionals,
                 clear_codes, tuple(rare), tuple(rare_share))


def round_counts(expected: Floats, rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """Integer counts per row of ``expected`` (rows sum to integers), each the floor or ceiling
    of its expectation, row sums kept exactly: systematic sampling with a random start."""
    totals = np.rint(expected.sum(axis=1))
    cum = np.cumsum(expected, axis=1)
    # Float sums drift: pin the row total, and keep the running sums from overshooting it.
    cum = np.minimum(cum, totals[:, None])
    cum[:, -1] = totals
    start = rng.random(len(expected))[:, None]
    steps = np.floor(cum + start)
    counts = np.diff(np.concatenate([np.zeros((len(expected), 1)), steps], axis=1), axis=1)
    return counts.astype(np.int64)


def rake(weights: Floats, rows: Floats, cols: Floats, iterations: int = 50) -> Floats:
    """Iterative proportional fitting: the table closest to ``weights`` (in KL) with these row
    and column sums. Keeps the measured table's associations, fixes its margins."""
    table = weights.copy()
    for _ in range(iterations):
        table *= (rows / np.maximum(table.sum(axis=1), 1e-300))[:, None]
        table *= (cols / np.maximum(table.sum(axis=0), 1e-300))[None, :]
    return table


def _assign(groups: npt.NDArray[np.int64], probs: Floats, rng: np.random.Generator
            ) -> npt.NDArray[np.int64]:
    """For rows labelled by group, values drawn as rounded counts per group, in random order."""
    n_groups, n_values = probs.shape
    sizes = np.bincount(groups, minlength=n_groups)
    counts = round_counts(sizes[:, None] * probs, rng)
    values = np.repeat(np.tile(np.arange(n_values), n_groups), counts.ravel())
    shuffled = rng.permutation(len(groups))
    rows = shuffled[np.argsort(groups[shuffled], kind="stable")]
    out = np.empty(len(groups), dtype=np.int64)
    out[rows] = values
    return out


def sample(model: Model, rows: int, rng: np.random.Generator) -> Codes:
    """``rows`` rows of public codes drawn from the network."""
    d = len(model.sizes)
    compressed = np.zeros((rows, d), dtype=np.int64)
    root = model.order[0]
    compressed[:, root] = _assign(np.zeros(rows, dtype=np.int64), model.margins[root][None, :],
                                  rng)
    for child in model.order[1:]:
        key = np.zeros(rows, dtype=np.int64)
        for column, view in model.parents[child]:
            mapping = model.views[column][view]
            key = key * (int(mapping.max()) + 1) + mapping[compressed[:, column]]
        weights = model.conditionals[child]
        counts = np.bincount(key, minlength=len(weights)).astype(np.float64)
        fitted = rake(weights, counts, rows * model.margins[child])
        probs = fitted / np.maximum(fitted.sum(axis=1, keepdims=True), 1e-300)
        compressed[:, child] = _assign(key, probs, rng)
    out = np.empty_like(compressed)
    for j in range(d):
        codes = compressed[:, j]
        n_clear = len(model.clear[j])
        if n_clear:
            out[:, j] = model.clear[j][np.minimum(codes, n_clear - 1)]
        in_bucket = np.flatnonzero(codes == n_clear)
        if len(in_bucket):
            picks = _assign(np.zeros(len(in_bucket), dtype=np.int64),
                            model.rare_share[j][None, :], rng)
            out[in_bucket, j] = model.rare[j][picks]
    return out


def generate(meas: Measurements, rows: int | None, seed: int) -> pd.DataFrame:
    """Synthetic rows (internal form) from the measurements; same inputs, same rows."""
    n = rows if rows is not None else max(round(meas.n_hat), 0)
    rng = np.random.default_rng(seed)
    return decode(sample(fit(meas), n, rng), meas.domain)
