"""Our synthesizer's private step: noisy 1-way marginals, a chosen network, its marginals."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt
import opendp.prelude as dp
import pandas as pd

from privacy.mechanisms import discrete_gaussian, epsilon_of, gaussian_scale
from privacy.noise import OPENDP, NoiseSource, noisy_max_measurement
from privacy.synthetic.domain import Codes, Domain, encode
from privacy.synthetic.result import PRODUCT, SyntheticSpend
from privacy.synthetic.spec import SyntheticSpec

dp.enable_features("contrib")

# The plan (MST/PrivBayes-style, with AIM's noise-aware scores). ``measure`` is the only
# function of the synthesizer that reads rows, and everything it returns is DP output drawn
# through OpenDP's CSPRNG (or, in a seeded release, privacy.noise's keyed sampler of the same
# distributions), so the rest (privacy.synthetic.model) is free post-processing:
# 1. every column's 1-way marginal over its public domain (discrete Gaussian, zCDP);
# 2. from those alone: the noisy total n̂; each column's domain compressed to the values whose
#    noisy count clears COMPRESS_SIGMAS noise deviations (the rest share one bucket, so rare
#    values cost no cells in larger marginals); coarse "top-k" views of wide columns;
# 3. a Bayesian network grown one column at a time: each step picks (column, parents), one or
#    two parents among the columns already in, by the exponential mechanism (OpenDP's
#    make_noisy_max, zCDP) on a sensitivity-2 dependence score minus the expected noise of
#    measuring that family's marginal;
# 4. that 2- or 3-way marginal, over compressed domains, with the discrete Gaussian.

Floats = npt.NDArray[np.float64]
Parent = tuple[int, int]  # (column index, view index); view 0 is the column itself

# Budget split (tuned on bench/synth.py, see bench/RESULTS.md): 1-way marginals are cheap to
# measure well and anchor n̂ and the compression; the chosen marginals carry the structure.
ONE_WAY_SHARE = Fraction(1, 5)
SELECT_SHARE = Fraction(1, 10)
# A value whose noisy count is below this many noise standard deviations is merged into its
# column's "rare" bucket for the 2- and 3-way marginals (MST uses 3).
COMPRESS_SIGMAS = 3.0
# A column with many values can also be a parent through its top-k values (rest pooled).
COARSE_TOP = (4, 10)
# Weight of the expected L1 noise of a family's marginal against its dependence score. AIM
# uses 1, but that noise is counted over every cell, while the projection onto the simplex
# and the raking in the model remove most of it from the (many) empty cells; at 1 the network
# stays too thin to carry 3-way structure (bench: 3-way error 0.065 -> 0.048 at eps 4).
NOISE_PENALTY = 0.05
# Score sensitivity: one case moves one cell of M[P, i] by 1 and row P of M[P] * p_i by p_i.
SCORE_SENSITIVITY = 2.0
# Expected |N(0, s^2)| is s * sqrt(2 / pi): the L1 noise a measured cell adds, per unit scale.
_HALF_NORMAL_MEAN = math.sqrt(2 / math.pi)


@dataclass(frozen=True, eq=False)
class NoisyTable:
    """One measured marginal: noisy counts over (compressed) domains, axes in ``columns`` order."""

    columns: tuple[str, ...]
    counts: npt.NDArray[np.int64]  # shaped by the axes' (compressed) sizes
    scale: float
    rho: Fraction  # allotted to it
    rho_map: float  # what OpenDP's privacy map reports for it (<= rho)


@dataclass(frozen=True, eq=False)
class Selection:
    """One private choice of a family (child and its parents) by the exponential mechanism."""

    child: str
    parents: tuple[str, ...]
    candidates: int
    scale: float
    rho: Fraction
    rho_map: float


@dataclass(frozen=True, eq=False)
class Measurements:
    """Everything the marginal synthesizer learned, all of it DP output; safe to keep.

    ``clear[j]`` marks column j's public values that keep a compressed code of their own (in
    order); the others share one last code, the rare bucket. ``order`` is the network's
    topological order and ``parents[j]`` column j's parents, each as (column, view).
    """

    domain: Domain
    one_way: tuple[NoisyTable, ...]
    clear: tuple[npt.NDArray[np.bool_], ...]
    views: tuple[tuple[npt.NDArray[np.int64], ...], ...]  # per column: compressed -> view code
    order: tuple[int, ...]
    parents: tuple[tuple[Parent, ...], ...]
    tables: dict[int, NoisyTable]  # child column index -> marginal over (parents..., child)
    selections: tuple[Selection, ...]
    n_hat: float
    n_hat_sd: float
    spends: tuple[SyntheticSpend, ...]
    params: dict[str, Any]

    @property
    def groups(self) -> tuple[npt.NDArray[np.int64], ...]:
        """Per column: public code -> compressed code."""
        return tuple(compressed_codes(c) for c in self.clear)

    @property
    def sizes(self) -> tuple[int, ...]:
        """Per column: the size of its compressed domain."""
        return tuple(int(c.sum()) + int(not c.all()) for c in self.clear)


def project_simplex(y: Floats, total: float) -> Floats:
    """Euclidean projection onto {x >= 0, sum x = total}: subtract one constant, clip at 0.

    On a sparse noisy table this zeroes the cells that are mostly noise, which clipping alone
    would leave positive (the "norm-sub" post-processing of frequency oracles).
    """
    flat = y.ravel().astype(np.float64)
    if total <= 0 or flat.size == 0:
        return np.zeros_like(y, dtype=np.float64)
    desc = np.sort(flat)[::-1]
    cum = np.cumsum(desc) - total
    ks = np.arange(1, flat.size + 1)
    positive = desc - cum / ks > 0
    positive[0] = True  # always true in exact arithmetic (it is ``total > 0``); floats may lose it
    k = int(ks[positive][-1])
    shift = float(cum[k - 1] / k)
    out: Floats = np.maximum(flat - shift, 0.0).reshape(y.shape)
    return out


def _noisy_max(scale: float) -> Any:
    return noisy_max_measurement(scale)


def selection_scale(rho: Fraction) -> float:
    """The smallest exponential-mechanism scale whose OpenDP privacy map stays within ``rho``."""
    # Bounded-range exponential mechanism: rho = (2 * sensitivity / scale)^2 / 8.
    scale = SCORE_SENSITIVITY / math.sqrt(2 * float(rho))
    while Fraction(_noisy_max(scale).map(SCORE_SENSITIVITY)) > rho:
        scale = math.nextafter(scale, math.inf) * (1 + 1e-12)
    return scale


def _counts(keys: npt.NDArray[np.int64], shape: tuple[int, ...]) -> npt.NDArray[np.int64]:
    return np.bincount(keys, minlength=math.prod(shape)).astype(np.int64).reshape(shape)


def _measure(keys: npt.NDArray[np.int64], shape: tuple[int, ...], names: tuple[str, ...],
             rho: Fraction, noise: NoiseSource, label: str) -> NoisyTable:
    """The discrete Gaussian (OpenDP) on one exact marginal; each case is in exactly one cell."""
    exact = _counts(keys, shape)
    noisy = discrete_gaussian(exact.ravel().tolist(), rho, noise=noise,
                              label=f"{label}|{'x'.join(map(str, shape))}")
    counts = np.asarray(noisy.values, dtype=np.int64).reshape(shape)
    return NoisyTable(names, counts, noisy.scale, rho, noisy.rho)


def _split(total: Fraction, parts: int) -> list[Fraction]:
    return [total / parts] * parts if parts else []


def _views(share: Floats) -> tuple[npt.NDArray[np.int64], ...]:
    """Ways a column can serve as a parent: itself (view 0), then its ``top`` most frequent
    compressed values (by the DP estimate ``share``) with the rest pooled, for each top in
    COARSE_TOP that is smaller than the column. Coarse parents cost far fewer cells."""
    size = len(share)
    out = [np.arange(size, dtype=np.int64)]
    for top in COARSE_TOP:
        if size > top + 1:
            kept = np.zeros(size, dtype=bool)
            kept[np.argsort(-share, kind="stable")[:top]] = True
            out.append(compressed_codes(kept))
    return tuple(out)


class _Data:
    """The compressed rows and the parent views of them, computed once (secure zone only)."""

    def __init__(self, z: Codes, views: tuple[tuple[npt.NDArray[np.int64], ...], ...]) -> None:
        self.z = z
        self.views = views
        self._cache: dict[Parent, npt.NDArray[np.int64]] = {}

    def size(self, parent: Parent) -> int:
        return int(self.views[parent[0]][parent[1]].max()) + 1

    def codes(self, parent: Parent) -> npt.NDArray[np.int64]:
        if parent not in self._cache:
            column, view = parent
            self._cache[parent] = self.views[column][view][self.z[:, column]]
        return self._cache[parent]

    def family(self, child: int, parents: tuple[Parent, ...]
               ) -> tuple[npt.NDArray[np.int64], tuple[int, ...]]:
        """Cell keys (C order) and shape of the marginal over (parents..., child)."""
        axes = (*parents, (child, 0))
        key = np.zeros(len(self.z), dtype=np.int64)
        for axis in axes:
            key = key * self.size(axis) + self.codes(axis)
        return key, tuple(self.size(axis) for axis in axes)


def _dependence(data: _Data, child: int, parents: tuple[Parent, ...], p_child: Floats) -> float:
    """L1 distance of M[parents, child] from M[parents] x p_child: how much parents tell."""
    key, shape = data.family(child, parents)
    joint = _counts(key, shape).reshape(-1, shape[-1]).astype(np.float64)
    expected = joint.sum(axis=1, keepdims=True) * p_child[None, :]
    return float(np.abs(joint - expected).sum())


def _candidates(data: _Data, inside: list[int], outside: list[int], max_parents: int
                ) -> list[tuple[int, tuple[Parent, ...]]]:
    """(child, parents): child outside; 1..max_parents parents inside, each in one of its views.

    The first step has nobody inside: then every ordered pair of columns is a candidate and
    the chosen parent becomes the root.
    """
    if not inside:
        return [(i, ((j, 0),)) for i in outside for j in outside if i != j]
    units = [(j, v) for j in inside for v in range(len(data.views[j]))]
    out = []
    for child in outside:
        for k in range(1, max_parents + 1):
            for parents in itertools.combinations(units, k):
                if len({c for c, _ in parents}) == k:
                    out.append((child, parents))
    return out


def view_name(name: str, view: int, size: int) -> str:
    """How a parent axis is labelled in reports: the column, coarsened when view > 0."""
    return name if view == 0 else f"{name} (top {size - 1} values, rest pooled)"


def measure(frame: pd.DataFrame, spec: SyntheticSpec, *,
            noise: NoiseSource = OPENDP) -> Measurements:
    """Spend the spec's rho on the marginal synthesizer's measurements (OpenDP noise).

    A seeded ``noise`` (a reproducible release) draws the same distributions at the same
    scales, each measurement keyed by its own label; the spends are the same.
    """
    dom = Domain.of(spec.columns, spec.year_min)
    x = encode(frame, dom)
    d = len(dom.columns)
    rho = spec.budget_rho()
    rho_one = rho if d == 1 else rho * ONE_WAY_SHARE
    rho_select = Fraction(0) if d == 1 else rho * SELECT_SHARE
    rho_tables = rho - rho_one - rho_select

    # 1. One-way marginals over the full public domains.
    one_way = tuple(_measure(x[:, j], (dom.sizes[j],), (dom.columns[j],), r, noise,
                             f"one-way|{dom.columns[j]}")
                    for j, r in zip(range(d), _split(rho_one, d), strict=True))
    # n̂: inverse-variance mean of the noisy totals (each has variance |domain| * scale^2).
    weights = np.array([1 / (t.counts.size * t.scale**2) for t in one_way])
    totals = np.array([float(t.counts.sum()) for t in one_way])
    n_hat = max(float((weights * totals).sum() / weights.sum()), 1.0)
    n_hat_sd = float(1 / math.sqrt(weights.sum()))

    # 2. Compressed domains and parent views: post-processing of the noisy 1-way marginals.
    clear = tuple(t.counts.ravel() >= COMPRESS_SIGMAS * t.scale for t in one_way)
    groups = tuple(compressed_codes(c) for c in clear)
    sizes = tuple(int(g.max()) + 1 for g in groups)
    p_hat = [_compressed_share(t, g, s) for t, g, s in zip(one_way, groups, sizes, strict=True)]
    views = tuple(_views(p) for p in p_hat)
    z = (np.stack([groups[j][x[:, j]] for j in range(d)], axis=1) if len(x)
         else np.zeros((0, d), dtype=np.int64))
    data = _Data(z, views)

    # 3.-4. Grow the network: choose a family privately, measure its marginal, repeat.
    steps = d - 1
    select_rhos = _split(rho_select, steps)
    table_rhos = _split(rho_tables, steps)
    inside: list[int] = []
    parents: list[tuple[Parent, ...]] = [()] * d
    tables: dict[int, NoisyTable] = {}
    selections: list[Selection] = []
    dependence: dict[tuple[int, tuple[Parent, ...]], float] = {}
    for step in range(steps):
        table_scale = gaussian_scale(table_rhos[step])
        outside = [j for j in range(d) if j not in inside]
        candidates = _candidates(data, inside, outside, spec.max_way - 1)
        scores = []
        for child, pa in candidates:
            cells = math.prod(data.size(p) for p in pa) * sizes[child]
            penalty = NOISE_PENALTY * _HALF_NORMAL_MEAN * table_scale * cells
            # Public pruning: a family whose expected noise exceeds any possible dependence
            # (at most 2 n̂) cannot win; it stays a candidate but is not counted.
            if penalty >= 2 * n_hat:
                scores.append(-penalty)
                continue
            if (child, pa) not in dependence:
                dependence[child, pa] = _dependence(data, child, pa, p_hat[child])
            scores.append(dependence[child, pa] - penalty)
        scale = selection_scale(select_rhos[step])
        mech = _noisy_max(scale)
        child, pa = candidates[noise.noisy_max(scores, scale,
                                               f"select|{step}|{len(candidates)}",
                                               sensitivity=SCORE_SENSITIVITY)]
        names = tuple(view_name(dom.columns[c], v, data.size((c, v))) for c, v in pa)
        selections.append(Selection(dom.columns[child], names, len(candidates), scale,
                                    select_rhos[step], float(mech.map(SCORE_SENSITIVITY))))
        if not inside:
            inside.append(pa[0][0])
        inside.append(child)
        parents[child] = pa
        key, shape = data.family(child, pa)
        tables[child] = _measure(key, shape, (*names, dom.columns[child]), table_rhos[step],
                                 noise, f"network|{step}|{'|'.join((*names, dom.columns[child]))}")

    order = tuple(inside) if inside else (0,)
    spends = _spends(rho_one, rho_select, rho_tables, spec.delta, d)
    params = {"one_way_share": str(ONE_WAY_SHARE), "select_share": str(SELECT_SHARE),
              "compress_sigmas": COMPRESS_SIGMAS, "coarse_top": list(COARSE_TOP),
              "noise_penalty": NOISE_PENALTY, "max_way": spec.max_way}
    return Measurements(dom, one_way, clear, views, order, tuple(parents), tables,
                        tuple(selections), n_hat, n_hat_sd, spends, params)


def compressed_codes(clear: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    """Public code -> compressed code: clear values keep a code each, the rest share the last."""
    return np.where(clear, np.cumsum(clear) - 1, int(clear.sum())).astype(np.int64)


def _compressed_share(t: NoisyTable, group: npt.NDArray[np.int64], size: int) -> Floats:
    """A column's distribution over its compressed domain, from its noisy 1-way marginal."""
    fitted = project_simplex(t.counts.ravel().astype(np.float64), float(t.counts.sum()))
    share = np.bincount(group, weights=fitted, minlength=size)
    total = share.sum()
    return share / total if total > 0 else np.full(size, 1 / size)


def _spends(rho_one: Fraction, rho_select: Fraction, rho_tables: Fraction, delta: float,
            d: int) -> tuple[SyntheticSpend, ...]:
    items = [("one-way marginals", rho_one), ("structure selection", rho_select),
             ("network marginals", rho_tables)]
    if d == 1:
        items = items[:1]
    # Like the DP tables, each item reports the epsilon of its own rho at delta; the release's
    # epsilon is that of the summed rho (epsilons do not add up under zCDP).
    return tuple(SyntheticSpend(PRODUCT, item, r, epsilon_of(float(r), delta), delta)
                 for item, r in items)
