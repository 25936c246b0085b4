"""Publication threshold and selective confidence intervals for DP cells summed over cohorts.

A published cell over several cohorts is the sum of the cohorts' raw noisy integer measurements,
so its noise is a sum of independent discrete Gaussians with known, possibly different, scales.
This module computes that noise's exact distribution, the threshold that keeps phantom cells
(noise on a true zero) at a stated rate, and intervals whose coverage holds *conditionally on
publication*, hence over the published cells of a table.

Written here because no library does it: OpenDP stops at the noisy counts and states the
accuracy of one unconditioned measurement; scipy (not a dependency) has neither the discrete
Gaussian nor selective intervals. Everything here is post-processing of noisy values: it
costs no privacy budget.

Why conditional intervals: a cell is shown only when its noisy sum x reaches the threshold, so
the shown cells are those whose noise came out high. ``x ± half-width`` then misses the truth
far more often than stated (on a sparse table most shown small cells are noise on zeros). The
interval here is the set of true counts c >= 0 under which x lies in neither alpha/2 tail of
the law of X = c + noise *given X >= threshold*; by construction it covers the true count with
probability >= 1 - alpha for every true count, among the cells that are published.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import numpy.typing as npt
import pandas as pd

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

DEFAULT_PHANTOM_RATE = 1e-3
DEFAULT_CONFIDENCE = 0.95
DEFAULT_UNRELIABLE_SHARE = 0.5
# Total variation between the computed noise law and the exact one is below this (the mass cut
# off by truncating each discrete Gaussian's support, bounded analytically in _reach).
TRUNCATION_MASS = 2.0**-60


def methodology(phantom_rate: float = DEFAULT_PHANTOM_RATE,
                confidence: float = DEFAULT_CONFIDENCE,
                unreliable_share: float = DEFAULT_UNRELIABLE_SHARE) -> str:
    """The publication rule and what the intervals mean, for the methodology (en)."""
    return (
        "Publication rule and intervals. Each cell of a DP table is measured separately in "
        "every cohort with the discrete Gaussian mechanism; a cell over several cohorts is the "
        "sum of those measurements, so its noise is a sum of independent discrete Gaussians of "
        "known scales, whose distribution is computed exactly. A cell is published only when "
        "its noisy sum reaches the table's threshold: the smallest integer that noise alone "
        f"reaches with probability at most {phantom_rate * 100:g}%, so that at most one in "
        f"{round(1 / phantom_rate):,} cells whose true count is zero is published as non-zero. "
        "Other cells are withheld (flag c). A published count is the noisy sum itself. Its "
        f"{confidence:.0%} interval is a selective (conditional) confidence interval: the true "
        f"counts under which the published count lies in neither {(1 - confidence) * 50:g}% "
        "tail of the distribution of the noisy count given that it reached the threshold. It "
        f"covers the true count with probability at least {confidence:.0%} whatever that count "
        "is, among the cells that are published, and so over the published cells of a table (a "
        "plain count plus or minus the noise's half-width does not: on a sparse table many "
        "published small cells are noise on zero). Just above the threshold the interval "
        "reaches down to zero, because a count there is weak evidence. Flag u marks a cell "
        f"whose interval's half-width exceeds {unreliable_share:.0%} of its count (or, rarely, "
        "whose interval does not contain it). Published counts are biased upwards by the "
        "selection (only cells whose noise came out high enough are shown), so the raw noisy "
        "measurements of every cell, unbiased, possibly negative and never withheld, are "
        "published beside each table: use those to add cells up or to fit models."
    )


METHODOLOGY = methodology()


@dataclass(frozen=True, eq=False)
class NoiseLaw:
    """The exact law (up to TRUNCATION_MASS) of a sum of independent discrete Gaussians.

    ``pmf[i]`` is P(noise = lowest + i); the support is symmetric, lowest = -reach.
    """

    scales: tuple[float, ...]
    lowest: int
    pmf: FloatArray
    truncated: float  # an upper bound on the probability mass the truncation dropped
    # Survival summed from the tail up (not 1 - cdf), so the small survival probabilities the
    # threshold and the intervals compare with keep full relative precision.
    survival: FloatArray = field(init=False, repr=False)
    cumulative: FloatArray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "survival", np.cumsum(self.pmf[::-1])[::-1])
        object.__setattr__(self, "cumulative", np.cumsum(self.pmf))

    @property
    def variance(self) -> float:
        k = np.arange(self.lowest, self.lowest + len(self.pmf), dtype=np.float64)
        return float((k * k * self.pmf).sum())

    def sf(self, t: npt.ArrayLike) -> FloatArray:
        """P(noise >= t), elementwise for integer t."""
        return _lookup(self.survival, np.asarray(t, dtype=np.int64) - self.lowest, 1.0)

    def cdf(self, t: npt.ArrayLike) -> FloatArray:
        """P(noise <= t), elementwise for integer t."""
        return _lookup(self.cumulative, np.asarray(t, dtype=np.int64) - self.lowest, 0.0)


def _lookup(table: FloatArray, index: IntArray, before: float) -> FloatArray:
    """table[index], with ``before`` left of the table and 1 - before right of it."""
    inside = np.clip(index, 0, len(table) - 1)
    out: FloatArray = np.where(index < 0, before,
                               np.where(index >= len(table), 1.0 - before, table[inside]))
    return out


def _reach(scale: float, budget: float) -> tuple[int, float]:
    """The smallest K >= 8 scales whose cut-off mass P(|X| > K) is provably below ``budget``.

    For k = K + j (j >= 1), k^2 >= K^2 + 2Kj, so sum_{j>=1} exp(-k^2 / 2s^2) <= exp(-K^2 / 2s^2)
    q / (1 - q) with q = exp(-K / s^2); the normaliser is >= 1 (the k = 0 term), so the two
    tails together hold at most twice that.
    """
    s2 = scale * scale
    k = max(1, math.floor(8 * scale))
    while True:
        q = math.exp(-k / s2)
        bound = 2 * math.exp(-k * k / (2 * s2)) * q / (1 - q)
        if bound < budget:
            return k, bound
        k += 1


def _discrete_gaussian_pmf(scale: float, budget: float) -> tuple[FloatArray, float]:
    reach, dropped = _reach(scale, budget)
    k = np.arange(-reach, reach + 1, dtype=np.float64)
    w = np.exp(-(k * k) / (2 * scale * scale))
    return w / w.sum(), dropped


@cache
def _law(scales: tuple[float, ...]) -> NoiseLaw:
    budget = TRUNCATION_MASS / len(scales)
    pmf = np.ones(1, dtype=np.float64)
    truncated = 0.0
    for s in scales:
        component, dropped = _discrete_gaussian_pmf(s, budget)
        # Direct convolution, not FFT: every term is a product of non-negative numbers, so the
        # far tails (which the threshold reads at ~1e-3 and the intervals at ~1e-2 of a
        # conditional law) keep full relative precision; FFT errors are ~1e-16 absolute.
        pmf = np.convolve(pmf, component)
        truncated += dropped  # union bound: some component fell outside its truncated support
    pmf /= pmf.sum()
    return NoiseLaw(scales, -(len(pmf) // 2), pmf, truncated)


def _check_scales(scales: Sequence[float] | npt.ArrayLike) -> tuple[float, ...]:
    values = tuple(sorted(float(s) for s in np.atleast_1d(np.asarray(scales, dtype=np.float64))))
    if not values or not all(math.isfinite(s) and s > 0 for s in values):
        raise ValueError("scales must be one or more finite positive numbers")
    return values


def noise_law(scales: Sequence[float] | npt.ArrayLike) -> NoiseLaw:
    """The law of the sum of independent discrete Gaussians of ``scales`` (order is irrelevant).

    Its total variation distance to the exact law is at most ``law.truncated`` < 2^-60.
    """
    return _law(_check_scales(scales))


def publication_threshold(scales: Sequence[float] | npt.ArrayLike,
                          phantom_rate: float = DEFAULT_PHANTOM_RATE) -> int:
    """Smallest integer tau with P(noise >= tau) <= phantom_rate (tau >= 1).

    A cell whose true count is 0 then reaches tau, and is published, with probability at most
    ``phantom_rate`` (to within the truncation mass, < 2^-60).
    """
    # Below 1e-12 the computed tail would be too close to the truncation mass to be trusted.
    if not 1e-12 <= phantom_rate < 0.5:
        raise ValueError("phantom_rate must be in [1e-12, 0.5)")
    law = noise_law(scales)
    sf = law.survival
    # sf is non-increasing: the first index at or under the rate (sf < 0.5 from 1 up, so tau >= 1).
    first = int(np.argmax(sf <= phantom_rate)) if sf[-1] <= phantom_rate else len(sf)
    return law.lowest + first


def _conditional_tails(law: NoiseLaw, x: IntArray, c: IntArray,
                       tau: int) -> tuple[FloatArray, FloatArray]:
    """P(X >= x | X >= tau) and P(X <= x | X >= tau) for X = c + noise, elementwise."""
    selected = law.sf(tau - c)
    upper = law.sf(x - c) / selected
    lower = (law.cdf(x - c) - law.cdf(tau - 1 - c)) / selected
    return upper, lower


def selective_intervals(observed: npt.ArrayLike, scales: Sequence[float] | npt.ArrayLike,
                        threshold: int, confidence: float = DEFAULT_CONFIDENCE,
                        ) -> tuple[IntArray, IntArray]:
    """(lower, upper) for published cells: every x in ``observed`` must be >= ``threshold``.

    The interval is [L, U] with L the smallest c >= 0 under which P(X >= x | X >= threshold)
    exceeds alpha/2 and U the largest under which P(X <= x | X >= threshold) does, X = c +
    noise. The discrete Gaussian, hence the sum, is log-concave, so c + noise given X >= tau
    is stochastically increasing in c: both tails are monotone in c, the set of accepted c is
    exactly [L, U] and each bound is found by bisection (all cells at once). If no c is
    accepted (x in the lower tail even for c = 0: only when the noise's sd exceeds ~135 and x
    is near the threshold), the interval is [0, 0], a superset of the empty set.
    """
    if not 0 < confidence < 1:
        raise ValueError("confidence must be in (0, 1)")
    law = noise_law(scales)
    x = np.asarray(observed, dtype=np.int64)
    if x.size and int(x.min()) < threshold:
        raise ValueError("selective intervals are for published cells (observed >= threshold)")
    if law.sf(np.asarray(threshold)) < 1e-12:
        raise ValueError("threshold too far in the noise's tail for a conditional law")
    half_alpha = (1 - confidence) / 2
    # Beyond these, P(X >= x) is 1 (c >= x - lowest) or P(X <= x) is 0 (c > x - lowest).
    top = x - law.lowest

    # L: the first c in [0, top] with upper tail > alpha/2 (true at top, where it is >= 1).
    below = np.full(x.shape, -1, dtype=np.int64)  # predicate false (or c = -1, off the range)
    above = top.copy()  # predicate true
    while np.any(open_ := above - below > 1):
        mid = np.maximum((above + below) // 2, 0)  # closed cells: any c >= 0, ignored
        ok = _conditional_tails(law, x, mid, threshold)[0] > half_alpha
        above = np.where(open_ & ok, mid, above)
        below = np.where(open_ & ~ok, mid, below)
    lower = above

    # U: the last c in [0, top] with lower tail > alpha/2 (false at top + 1, where it is 0).
    at_zero = _conditional_tails(law, x, np.zeros_like(x), threshold)[1] > half_alpha
    good = np.zeros_like(x)  # predicate true (where at_zero)
    bad = top + 1
    while np.any(open_ := bad - good > 1):
        mid = (good + bad) // 2
        ok = _conditional_tails(law, x, mid, threshold)[1] > half_alpha
        good = np.where(open_ & ok, mid, good)
        bad = np.where(open_ & ~ok, mid, bad)
    empty = ~at_zero | (good < lower)
    out_lower: IntArray = np.where(empty, 0, lower).astype(np.int64)
    out_upper: IntArray = np.where(empty, 0, good).astype(np.int64)
    return out_lower, out_upper


@dataclass(frozen=True)
class PublishedCells:
    """Per cell: what a table shows. Where ``published`` is False, estimate/lower/upper are 0.

    ``estimate`` is the observed noisy sum x itself (>= threshold >= 1 where published, so it
    equals x clipped at 0). Chosen over a conditional (selection-corrected) estimate because x
    is the cohorts' raw measurements added up, so it agrees with the raw files published beside
    the table and adds up across cohorts; a conditional MLE would depend non-additively on the
    threshold and can be 0 for a published cell. The selection bias of x near the threshold is
    what the interval and the u flag report.
    """

    threshold: int
    published: npt.NDArray[np.bool_]
    estimate: IntArray
    lower: IntArray
    upper: IntArray
    flag: npt.NDArray[np.object_]  # "c" withheld, "u" low reliability, None
    confidence: float

    def to_frame(self) -> pd.DataFrame:
        """count, lower_NN, upper_NN (nullable Int64, empty where withheld) and flag (string)."""
        level = round(self.confidence * 100)
        withheld = ~self.published
        return pd.DataFrame({
            "count": pd.array(self.estimate, dtype="Int64"),
            f"lower_{level}": pd.array(self.lower, dtype="Int64"),
            f"upper_{level}": pd.array(self.upper, dtype="Int64"),
            "flag": pd.array(self.flag, dtype="string"),
        }).mask(pd.DataFrame({"count": withheld, f"lower_{level}": withheld,
                              f"upper_{level}": withheld, "flag": False}))


def publish_cells(estimates: npt.ArrayLike, scales: Sequence[float] | npt.ArrayLike, *,
                  phantom_rate: float = DEFAULT_PHANTOM_RATE,
                  confidence: float = DEFAULT_CONFIDENCE,
                  unreliable_share: float = DEFAULT_UNRELIABLE_SHARE) -> PublishedCells:
    """Publish the cells whose raw noisy sum reaches the phantom threshold, with their intervals.

    ``estimates`` are the raw integer sums over cohorts (not post-processed: the intervals are
    for exactly this noise law), ``scales`` the cohorts' noise scales, shared by all cells.
    Flag ``c``: withheld. Flag ``u``: half-width (upper - lower) / 2 above ``unreliable_share``
    of the estimate, or the estimate outside its interval (possible only for noise sd above
    ~30, for x just over the threshold).
    """
    x = np.asarray(estimates)
    if x.dtype.kind not in "iu":
        raise ValueError("estimates must be integers (the raw noisy sums)")
    x = x.astype(np.int64)
    tau = publication_threshold(scales, phantom_rate)
    published = x >= tau
    lower = np.zeros_like(x)
    upper = np.zeros_like(x)
    lower[published], upper[published] = selective_intervals(x[published], scales, tau,
                                                             confidence)
    estimate = np.where(published, x, 0)
    unreliable = published & (((upper - lower) / 2 > unreliable_share * estimate)
                              | (estimate < lower) | (estimate > upper))
    flag = np.full(x.shape, None, dtype=object)
    flag[unreliable] = "u"
    flag[~published] = "c"
    return PublishedCells(tau, published, estimate, lower, upper, flag, confidence)
