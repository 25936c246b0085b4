"""Intervals: no phantoms, and the stated coverage over published cells (statistical and exact)."""

from __future__ import annotations

import math
import time
from fractions import Fraction

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy.intervals import (
    METHODOLOGY,
    TRUNCATION_MASS,
    methodology,
    noise_law,
    publication_threshold,
    publish_cells,
    selective_intervals,
)
from privacy.mechanisms import discrete_gaussian_half_width, gaussian_scale
from privacy.noise import gaussian_measurement

# Failure probabilities. Every statistical assertion below is a one-sided binomial (Chernoff:
# P(Bin(n, p)/n <= q) <= exp(-n KL(q || p)), which also holds for independent Bernoullis with
# means >= p), a DKW bound, or a 5.5-sigma check, each at FAIL_EACH. There are fewer than 200
# of them in the file, so a correct implementation fails this file with probability < 1e-6.
# The numpy simulations use fixed seeds (so they cannot flake); OpenDP's draws are random.
FAIL_EACH = 1e-6 / 200
Z = 5.5  # P(|N(0,1)| > 5.5) ~ 3.8e-8 < FAIL_EACH
LEVEL = 0.95
RATE = 1e-3
S = gaussian_scale(Fraction(1, 16))  # 2.83: one cohort's measurement at rho = 1/16
SCALE_SETS = {
    "one cohort": (S,),
    "twelve cohorts": (S,) * 12,
    "mixed cohorts": (1.0, 5.0, S),  # e.g. closed cohorts measured once long ago at other rho
}
TRUE_COUNTS = np.arange(0, 51)
N_DRAWS = 1_000_000


def _kl(q: float, p: float) -> float:
    out = 0.0
    if q > 0:
        out += q * math.log(q / p)
    if q < 1:
        out += (1 - q) * math.log((1 - q) / (1 - p))
    return out


def binomial_floor(n: int, p: float, fail: float = FAIL_EACH) -> float:
    """q with P(Bin(n, p)/n < q) <= fail (Chernoff), found by bisection on [0, p]."""
    lo, hi = 0.0, p
    for _ in range(60):
        mid = (lo + hi) / 2
        if n * _kl(mid, p) >= math.log(1 / fail):
            lo = mid
        else:
            hi = mid
    return lo


def binomial_ceiling(n: int, p: float, fail: float = FAIL_EACH) -> float:
    """q with P(Bin(n, p)/n > q) <= fail (Chernoff), found by bisection on [p, 1]."""
    lo, hi = p, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if n * _kl(mid, p) >= math.log(1 / fail):
            hi = mid
        else:
            lo = mid
    return hi


def _dg_pmf(scale: float) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """One discrete Gaussian, written out independently of the module (far wider support)."""
    reach = math.ceil(14 * scale) + 3
    k = np.arange(-reach, reach + 1)
    w = np.exp(-(k.astype(np.float64) ** 2) / (2 * scale * scale))
    return k, w / w.sum()


def _draw(rng: np.random.Generator, scales: tuple[float, ...], n: int) -> npt.NDArray[np.int64]:
    """n sums of independent discrete Gaussians: one draw per cohort, added up."""
    total = np.zeros(n, dtype=np.int64)
    for s in scales:
        k, p = _dg_pmf(s)
        total += rng.choice(k, size=n, p=p)
    return total


@pytest.fixture(scope="module")
def noise() -> dict[str, npt.NDArray[np.int64]]:
    rng = np.random.default_rng(20261204)
    return {name: _draw(rng, scales, N_DRAWS) for name, scales in SCALE_SETS.items()}


def _interval_table(scales: tuple[float, ...], top: int) -> tuple[int, npt.NDArray[np.int64],
                                                                   npt.NDArray[np.int64]]:
    """tau and the intervals of every x in tau..top (index x - tau)."""
    tau = publication_threshold(scales, RATE)
    lower, upper = selective_intervals(np.arange(tau, top + 1), scales, tau, LEVEL)
    return tau, lower, upper


# --- the noise law ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(SCALE_SETS))
def test_noise_law_is_the_sum_of_the_cohorts_discrete_gaussians(name: str) -> None:
    scales = SCALE_SETS[name]
    law = noise_law(scales)
    assert law.truncated < TRUNCATION_MASS
    assert math.isclose(law.pmf.sum(), 1.0, rel_tol=1e-12)
    np.testing.assert_allclose(law.pmf, law.pmf[::-1], rtol=1e-12)  # symmetric about 0
    assert law.lowest == -(len(law.pmf) // 2)
    # Variances add; each discrete Gaussian's is computed here by direct summation (it is a
    # little under scale^2 for small scales, so this is not just sum(s^2)).
    variances = [float((k.astype(np.float64) ** 2 * p).sum()) for k, p in map(_dg_pmf, scales)]
    assert math.isclose(law.variance, math.fsum(variances), rel_tol=1e-12)
    # The whole pmf against a convolution of the independent, wider pmfs.
    k, p = _dg_pmf(scales[0])
    for s in scales[1:]:
        k2, p2 = _dg_pmf(s)
        p = np.convolve(p, p2)
        k = np.arange(k[0] + k2[0], k[-1] + k2[-1] + 1)
    inside = (k >= law.lowest) & (k < law.lowest + len(law.pmf))
    assert float(p[~inside].sum()) < TRUNCATION_MASS
    assert float(np.abs(p[inside] - law.pmf).sum()) < 1e-12
    # Order of the scales is irrelevant.
    assert noise_law(scales[::-1]) is law


def test_noise_law_matches_opendp_draws() -> None:
    """Twelve cohorts drawn by OpenDP's own sampler, added up: CDF (DKW), mean and variance."""
    scales = SCALE_SETS["twelve cohorts"]
    law = noise_law(scales)
    n = 20_000
    draws = np.asarray(gaussian_measurement(S)([0] * (12 * n)), dtype=np.int64)
    sums = draws.reshape(n, 12).sum(axis=1)
    values, counts = np.unique(sums, return_counts=True)
    empirical = np.cumsum(counts) / n
    assert np.abs(empirical - law.cdf(values)).max() <= math.sqrt(
        math.log(2 / FAIL_EACH) / (2 * n))
    k = np.arange(law.lowest, law.lowest + len(law.pmf), dtype=np.float64)
    var, mu4 = law.variance, float((k**4 * law.pmf).sum())
    assert abs(sums.mean()) <= Z * math.sqrt(var / n)
    assert abs(float((sums.astype(np.float64) ** 2).mean()) - var) <= Z * math.sqrt(
        (mu4 - var * var) / n)


# --- the threshold: no phantoms -----------------------------------------------------------------


def test_threshold_values_for_one_and_twelve_cohorts() -> None:
    # Pinned from the independent pmf above: P(N >= tau) <= 1e-3 < P(N >= tau - 1).
    assert publication_threshold((S,)) == 10
    assert publication_threshold((S,) * 12) == 31
    for scales in SCALE_SETS.values():
        tau = publication_threshold(scales, RATE)
        law = noise_law(scales)
        assert float(law.sf(tau)) <= RATE < float(law.sf(tau - 1))


@pytest.mark.parametrize("name", list(SCALE_SETS))
def test_true_zeros_are_published_at_most_once_in_a_thousand(
        name: str, noise: dict[str, npt.NDArray[np.int64]]) -> None:
    zeros = noise[name]  # a million cells whose true count is 0
    cells = publish_cells(zeros, SCALE_SETS[name])
    rate, n = float(cells.published.mean()), len(zeros)
    # The ceiling is 1.20e-3: a threshold one lower (1.26e-3 to 1.33e-3 for these sets) would
    # usually exceed it; and the simulated rate must match the law's own tail at tau, both ways
    # (3.7e-4 for one cohort, 9.2e-4 for twelve), which a wrong tail or threshold would not.
    assert rate <= binomial_ceiling(n, RATE)
    exact = float(noise_law(SCALE_SETS[name]).sf(cells.threshold))
    assert binomial_floor(n, exact) <= rate <= binomial_ceiling(n, exact)


@given(st.lists(st.floats(0.3, 30), min_size=1, max_size=4),
       st.floats(1e-6, 0.4), st.floats(1e-6, 0.4))
@settings(max_examples=60, deadline=None)
def test_threshold_falls_as_the_phantom_rate_rises(scales: list[float], a: float,
                                                   b: float) -> None:
    low, high = sorted((a, b))
    assert publication_threshold(scales, low) >= publication_threshold(scales, high) >= 1


@given(st.lists(st.floats(0.3, 30), min_size=1, max_size=4), st.floats(0.3, 30))
@settings(max_examples=60, deadline=None)
def test_more_cohorts_never_lower_the_threshold(scales: list[float], extra: float) -> None:
    assert publication_threshold([*scales, extra]) >= publication_threshold(scales)


# --- (g) coverage over published cells ----------------------------------------------------------


@pytest.mark.parametrize("name", list(SCALE_SETS))
def test_coverage_holds_for_every_true_count_among_published_cells(
        name: str, noise: dict[str, npt.NDArray[np.int64]]) -> None:
    """For each true count 0..50: among the simulated cells that get published, >= 95% covered.

    A million noise draws per scale set, reused for every true count (each count's check is a
    valid test on its own; the failure budget is a union bound). For c = 0 some 370-920 cells are
    published, so the floor there is low; from c ~ tau on nearly all are, and it is ~0.947.
    """
    scales, n = SCALE_SETS[name], noise[name]
    tau, lower, upper = _interval_table(scales, int(TRUE_COUNTS[-1] + n.max()))
    for c in TRUE_COUNTS:
        x = c + n
        published = x >= tau
        index = x[published] - tau
        covered = int(((lower[index] <= c) & (c <= upper[index])).sum())
        shown = int(published.sum())
        assert shown > 200  # c = 0, one cohort: P(N >= 10) = 3.7e-4
        assert covered / shown >= binomial_floor(shown, LEVEL), (name, c, covered / shown)
    # Pooled over a table of cells with true counts uniform on 0..50, each its own noise draw.
    true = np.random.default_rng(7).integers(0, TRUE_COUNTS[-1] + 1, len(n))
    x = true + n
    published = x >= tau
    index = x[published] - tau
    hit = (lower[index] <= true[published]) & (true[published] <= upper[index])
    assert hit.mean() >= binomial_floor(int(published.sum()), LEVEL)


@pytest.mark.parametrize("name", [*SCALE_SETS, "one small scale", "one large scale"])
def test_exact_conditional_coverage_for_every_true_count(name: str) -> None:
    """The coverage computed from the law itself: >= 95% for every c, and not wastefully above."""
    scales = {**SCALE_SETS, "one small scale": (0.7,), "one large scale": (25.0,)}[name]
    law = noise_law(scales)
    top = 60 - law.lowest
    tau, lower, upper = _interval_table(scales, top)
    x = np.arange(tau, top + 1)
    worst, total = 1.0, 0.0
    for c in range(61):
        k = x - c - law.lowest
        p = np.where((k >= 0) & (k < len(law.pmf)), law.pmf[np.clip(k, 0, len(law.pmf) - 1)], 0)
        coverage = float(p[(lower <= c) & (c <= upper)].sum() / p.sum())
        worst, total = min(worst, coverage), total + coverage
    assert worst >= LEVEL
    assert total / 61 < 0.99  # discreteness makes it conservative, but not trivially so


def test_the_old_rule_misses_on_a_sparse_table_and_the_new_one_does_not() -> None:
    """Threshold 5 and count +- the 95% half-width, on a sparse year x citizenship-like table."""
    rng = np.random.default_rng(14)
    n = 3000 * 40  # forty tables of 3,000 cells, 90% true zeros
    true = np.where(rng.random(n) < 0.9, 0, rng.geometric(1 / 5, n))
    x = true + _draw(rng, (S,), n)
    half = discrete_gaussian_half_width(S)
    old = x >= 5
    old_hit = (np.maximum(x - half, 0) <= true) & (true <= x + half)
    # The old rule covers ~0.89 of the cells it publishes here (the 73% was measured on
    # the demo's post-processed tables), half of which are noise on zero; a rule that truly
    # covered 95% would be above this floor (~0.937) with probability 1 - FAIL_EACH.
    assert old_hit[old].mean() < binomial_floor(int(old.sum()), LEVEL)
    assert (true[old] == 0).mean() > 0.3
    # The new rule: ~0.98 covered, ~2% of published cells on true zeros (the price: it shows
    # ~16% of the non-zero cells, the old one ~47%).
    new = publish_cells(x, (S,))
    new_hit = (new.lower <= true) & (true <= new.upper)
    assert new_hit[new.published].mean() >= binomial_floor(int(new.published.sum()), LEVEL)
    assert (true[new.published] == 0).mean() < 0.1


# --- properties of the intervals ----------------------------------------------------------------

SCALES = st.lists(st.floats(0.3, 12), min_size=1, max_size=4)


def _brute_force(scales: list[float], x: int, tau: int) -> tuple[int, int] | None:
    """The accepted c, by trying every one with tails summed straight from the pmf."""
    law = noise_law(scales)
    k = np.arange(law.lowest, law.lowest + len(law.pmf))
    accepted = []
    for c in range(0, x - law.lowest + 2):
        support = k + c
        selected = law.pmf[support >= tau].sum()
        up = law.pmf[(support >= tau) & (support >= x)].sum() / selected
        down = law.pmf[(support >= tau) & (support <= x)].sum() / selected
        if up > (1 - LEVEL) / 2 and down > (1 - LEVEL) / 2:
            accepted.append(c)
    if not accepted:
        return None
    assert accepted == list(range(accepted[0], accepted[-1] + 1))  # an interval (log-concave)
    return accepted[0], accepted[-1]


@given(SCALES, st.integers(0, 60))
@settings(max_examples=40, deadline=None)
def test_intervals_are_exactly_the_accepted_counts(scales: list[float], above: int) -> None:
    tau = publication_threshold(scales)
    x = tau + above
    lower, upper = selective_intervals([x], scales, tau)
    assert _brute_force(scales, x, tau) == (int(lower[0]), int(upper[0]))


@given(SCALES)
@settings(max_examples=40, deadline=None)
def test_intervals_grow_with_the_observed_count_and_bracket_it(scales: list[float]) -> None:
    law = noise_law(scales)
    tau = publication_threshold(scales)
    x = np.arange(tau, tau + 3 * len(law.pmf))
    lower, upper = selective_intervals(x, scales, tau)
    assert (lower >= 0).all() and (lower <= upper).all()
    assert (np.diff(lower) >= 0).all() and (np.diff(upper) >= 0).all()
    assert (lower <= x).all()
    # x <= upper needs P(N = 0) / P(N >= 0) > alpha/2 (the worst case, x = tau): noise sd < ~30.
    if float(law.pmf[-law.lowest] / law.sf(0)) > (1 - LEVEL) / 2:
        assert (x <= upper).all()
    # Far above the threshold, selection no longer matters: the ordinary equal-tailed interval.
    far = x[-1]
    half_alpha = (1 - LEVEL) / 2
    c = np.arange(far + law.lowest, far - law.lowest + 1)
    accepted = c[(law.sf(far - c) > half_alpha) & (law.cdf(far - c) > half_alpha)]
    assert (lower[-1], upper[-1]) == (accepted.min(), accepted.max())


def test_intervals_widths_and_a_large_scale() -> None:
    # One cohort: at the threshold [0, 15]; far from it x +- 6, the unconditional half-width.
    lo, up = selective_intervals([10, 30, 200], (S,), 10)
    assert (lo.tolist(), up.tolist()) == ([0, 24, 194], [15, 36, 206])
    # sd 200: at x = tau no count is accepted (x is in the lower tail even for c = 0): [0, 0].
    tau = publication_threshold((200.0,))
    lo, up = selective_intervals([tau], (200.0,), tau)
    assert (int(lo[0]), int(up[0])) == (0, 0)
    cells = publish_cells(np.asarray([tau]), (200.0,))
    assert cells.flag.tolist() == ["u"]  # the count lies outside its (degenerate) interval


# --- the table function -------------------------------------------------------------------------


@given(SCALES, st.lists(st.integers(-40, 400), min_size=1, max_size=200), st.floats(0.1, 1.0))
@settings(max_examples=40, deadline=None)
def test_publish_cells_flags_and_columns(scales: list[float], values: list[int],
                                         share: float) -> None:
    x = np.asarray(values, dtype=np.int64)
    cells = publish_cells(x, scales, unreliable_share=share)
    tau = publication_threshold(scales)
    assert cells.threshold == tau
    assert (cells.published == (x >= tau)).all()
    shown = cells.published
    assert (cells.estimate[shown] == x[shown]).all()
    assert (cells.flag[~shown] == "c").all()
    lower, upper = selective_intervals(x[shown], scales, tau)
    assert (cells.lower[shown] == lower).all() and (cells.upper[shown] == upper).all()
    wide = (upper - lower) / 2 > share * x[shown]
    outside = (x[shown] < lower) | (x[shown] > upper)
    assert cells.flag[shown].tolist() == ["u" if u else None for u in wide | outside]
    frame = cells.to_frame()
    assert list(frame.columns) == ["count", "lower_95", "upper_95", "flag"]
    assert frame.loc[~shown, ["count", "lower_95", "upper_95"]].isna().all().all()
    assert (frame.loc[shown, "count"].to_numpy() == x[shown]).all()
    assert str(frame["count"].dtype) == "Int64"


def test_a_3000_cell_table_takes_well_under_a_second() -> None:
    x = np.random.default_rng(3).integers(-20, 2000, 3000)
    scales = (S * 1.0001,) * 12  # not cached by any earlier test
    start = time.perf_counter()
    publish_cells(x, scales)
    assert time.perf_counter() - start < 0.5


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError):
        noise_law([])
    with pytest.raises(ValueError):
        noise_law([1.0, -2.0])
    with pytest.raises(ValueError):
        publication_threshold([S], 0.5)
    with pytest.raises(ValueError):
        selective_intervals([9], [S], 10)  # not published
    with pytest.raises(ValueError):
        publish_cells(np.asarray([1.5]), [S])  # raw sums are integers


def test_methodology_states_the_rule() -> None:
    for words in ("threshold", "0.1%", "1,000", "95%", "2.5%", "conditional", "published cells",
                  "Flag u", "50%", "raw noisy measurements", "unbiased"):
        assert words in METHODOLOGY
    other = methodology(phantom_rate=1e-4, confidence=0.9, unreliable_share=0.3)
    for words in ("0.01%", "10,000", "90%", "5%", "30%"):
        assert words in other
