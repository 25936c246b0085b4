"""Noise sources: the seeded sampler and OpenDP's draw the claimed distributions; seeds and keys."""

from __future__ import annotations

import math
import secrets
from collections import Counter
from fractions import Fraction

import numpy as np
import numpy.typing as npt
import pytest

from privacy.errors import SeedRejected
from privacy.mechanisms import discrete_gaussian, discrete_gaussian_half_width, gaussian_scale
from privacy.noise import (
    OPENDP,
    TAIL_SCALES,
    SeededNoise,
    _magnitude_thresholds,
    check_seed,
    seeded_discrete_gaussian,
)

# Every statistical check below allows Z standard errors: P(|N(0,1)| > 5.5) ~ 3.8e-8, so with
# at most four such checks and a DKW bound at ALPHA per test, a correct sampler fails a test
# with probability below 1e-6. The seeded tests use fixed keys, so they cannot flake at all;
# the same tolerances keep them meaningful (a wrong sampler would fail them on any key).
Z = 5.5
ALPHA = 1e-7
SEED = "3f9c2a7be41d58c06a9e12f4b7d3c8e5"


def _pmf(scale: float) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """The discrete Gaussian's support and probabilities, far beyond any draw."""
    reach = math.ceil(14 * scale) + 3
    x = np.arange(-reach, reach + 1)
    w = np.exp(-(x.astype(np.float64) ** 2) / (2 * scale * scale))
    return x, w / w.sum()


def assert_discrete_gaussian(errors: npt.NDArray[np.int64], scale: float) -> None:
    """Mean, variance, 95% coverage and the whole CDF against the exact distribution."""
    n = len(errors)
    x, p = _pmf(scale)
    var = float((x.astype(np.float64) ** 2 * p).sum())  # a little under scale^2 when small
    mu4 = float((x.astype(np.float64) ** 4 * p).sum())
    assert abs(errors.mean()) <= Z * math.sqrt(var / n)
    # The mean is known (0), so mean(e^2) is unbiased for the variance, with variance
    # (mu4 - var^2) / n exactly.
    m2 = float((errors.astype(np.float64) ** 2).mean())
    assert abs(m2 - var) <= Z * math.sqrt((mu4 - var * var) / n), (m2, var)
    half = discrete_gaussian_half_width(scale)
    covered = float(p[np.abs(x) <= half].sum())
    assert covered >= 0.95 > float(p[np.abs(x) <= half - 1].sum())  # the interval is tight
    inside = float((np.abs(errors) <= half).mean())
    assert abs(inside - covered) <= Z * math.sqrt(covered * (1 - covered) / n), (inside, covered)
    # Dvoretzky-Kiefer-Wolfowitz: sup |F_n - F| > t with probability at most 2 exp(-2 n t^2).
    values, counts = np.unique(errors, return_counts=True)
    empirical = np.cumsum(counts) / n
    exact = np.cumsum(p)[np.searchsorted(x, values)]
    assert np.abs(empirical - exact).max() <= math.sqrt(math.log(2 / ALPHA) / (2 * n))


@pytest.mark.parametrize("scale", [0.8, gaussian_scale(Fraction(1, 6)), 7.5])
def test_seeded_sampler_draws_the_discrete_gaussian(scale: float) -> None:
    n = 400_000
    errors = seeded_discrete_gaussian(f"test-{scale}".encode(), scale, n)
    assert errors.dtype == np.int64 and len(errors) == n
    assert_discrete_gaussian(errors, scale)


def test_opendp_draws_the_discrete_gaussian() -> None:
    rho = Fraction(1, 20)  # scale ~3.16
    n = 60_000
    noisy = discrete_gaussian([100] * n, rho)
    assert noisy.rho <= float(rho)
    assert_discrete_gaussian(np.asarray(noisy.values, dtype=np.int64) - 100, noisy.scale)


def test_both_sources_report_the_same_scale_rho_and_interval() -> None:
    rho = Fraction(1, 10)
    seeded = discrete_gaussian([5] * 10, rho, noise=SeededNoise.from_seed(SEED, "s"), label="t")
    csprng = discrete_gaussian([5] * 10, rho, noise=OPENDP, label="t")
    assert (seeded.scale, seeded.rho, seeded.accuracy95) == (
        csprng.scale, csprng.rho, csprng.accuracy95)


@pytest.mark.parametrize("scale", [0.5, 1.0, 1.7, 5.7, 15.3, 100.0, 1000.0])
def test_seeded_sampler_is_within_2_to_the_minus_45_of_exact(scale: float) -> None:
    """The sampler's exact output distribution (from its thresholds) vs the true one."""
    t = [int(v) for v in _magnitude_thresholds(scale)]
    bounds = [2**64, *t, 0]
    implemented = [Fraction(bounds[k] - bounds[k + 1], 2**64) for k in range(len(t) + 1)]
    reach = math.ceil(30 * scale) + 30
    w = [math.exp(-(k * k) / (2 * scale * scale)) for k in range(reach)]
    norm = math.fsum([w[0], *(2 * v for v in w[1:])])
    exact = [w[0] / norm, *(2 * v / norm for v in w[1:])]
    tail = math.fsum(exact[len(implemented):])
    assert len(implemented) - 1 >= TAIL_SCALES * scale
    assert tail < 2**-60
    tv = 0.5 * (math.fsum(abs(float(implemented[k]) - exact[k])
                          for k in range(len(implemented))) + tail)
    assert tv < 2**-45


def test_seeded_noisy_max_is_the_exponential_mechanism() -> None:
    scores, scale, n = [0.0, 1.0, 2.5], 1.0, 60_000
    noise = SeededNoise.from_seed(SEED, "s")
    seen = Counter(noise.noisy_max(scores, scale, f"draw {i}") for i in range(n))
    weights = np.exp(np.asarray(scores) / scale)
    for i, p in enumerate(weights / weights.sum()):
        assert abs(seen[i] / n - p) <= Z * math.sqrt(p * (1 - p) / n)


def test_opendp_noisy_max_has_the_same_distribution() -> None:
    scores, scale, n = [0.0, 1.0, 2.5], 1.0, 20_000
    seen = Counter(OPENDP.noisy_max(scores, scale, "") for _ in range(n))
    weights = np.exp(np.asarray(scores) / scale)
    for i, p in enumerate(weights / weights.sum()):
        assert abs(seen[i] / n - p) <= Z * math.sqrt(p * (1 - p) / n)


def test_same_key_same_noise_and_every_input_changes_it() -> None:
    base = SeededNoise.from_seed(SEED, "snapshot-a").derive("dp-tables")
    again = SeededNoise.from_seed(SEED.upper(), "snapshot-a").derive("dp-tables")
    zeros = [0] * 200
    first = base.discrete_gaussian(zeros, 2.0, "table")
    assert again.discrete_gaussian(zeros, 2.0, "table") == first
    others = [
        SeededNoise.from_seed(SEED, "snapshot-b").derive("dp-tables")
        .discrete_gaussian(zeros, 2.0, "table"),  # another snapshot: never the same noise
        SeededNoise.from_seed(secrets.token_hex(16), "snapshot-a").derive("dp-tables")
        .discrete_gaussian(zeros, 2.0, "table"),
        base.discrete_gaussian(zeros, 2.0, "other table"),
        base.discrete_gaussian(zeros, 2.5, "table"),  # another scale: not a rescaled copy
        SeededNoise.from_seed(SEED, "snapshot-a").derive("dp-synthetic")
        .discrete_gaussian(zeros, 2.0, "table"),
    ]
    for other in others:
        assert other != first
    # Another size draws another stream, not a prefix of this one.
    assert base.discrete_gaussian([0] * 100, 2.0, "table") != first[:100]


def test_opendp_noise_is_not_reproducible() -> None:
    zeros = [0] * 200
    assert OPENDP.discrete_gaussian(zeros, 2.0, "t") != OPENDP.discrete_gaussian(zeros, 2.0, "t")


@pytest.mark.parametrize("seed", ["42", "deadbeef", "0" * 64, "1234" * 8, "not hex at all " * 3,
                                  "abcdef0123456789abcdef012345678"])  # 31 digits
def test_guessable_seeds_are_refused(seed: str) -> None:
    with pytest.raises(SeedRejected) as err:
        check_seed(seed)
    assert seed not in str(err.value)


def test_random_seeds_are_accepted() -> None:
    for _ in range(50):
        token = secrets.token_hex(16)
        assert check_seed(token) == bytes.fromhex(token)
    assert check_seed(" " + SEED.upper() + "\n") == bytes.fromhex(SEED)
