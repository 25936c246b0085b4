"""Noise mechanisms (OpenDP) applied to contingency tables, with their known accuracy."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import opendp.prelude as dp

from privacy.noise import OPENDP, NoiseSource, gaussian_measurement

dp.enable_features("contrib")

# Under add/remove-one-case, a contingency table in which every case falls in exactly one
# cell moves by 1 in L2 (and L1): the sensitivity every table mechanism is built for.
TABLE_SENSITIVITY = 1


@dataclass(frozen=True)
class NoisyVector:
    values: list[int]
    scale: float
    rho: float  # what OpenDP's privacy map reports for this measurement
    accuracy95: float  # half-width of the 95% interval of each noisy value


def _gaussian(scale: float) -> Any:
    return gaussian_measurement(scale)


def gaussian_scale(rho: Fraction) -> float:
    """The smallest scale whose OpenDP privacy map stays within ``rho``."""
    scale = math.sqrt(TABLE_SENSITIVITY**2 / (2 * float(rho)))
    # Float rounding can leave the map a hair above rho; nudge the scale up until it is not,
    # compared exactly: the accountant charges the map's value against the exact allotment.
    while Fraction(_gaussian(scale).map(TABLE_SENSITIVITY)) > rho:
        scale = math.nextafter(scale, math.inf) * (1 + 1e-12)
    return scale


def discrete_gaussian(counts: list[int], rho: Fraction, *, noise: NoiseSource = OPENDP,
                      label: str = "") -> NoisyVector:
    """Add discrete Gaussian noise (zCDP) to a vector of exact counts.

    The scale and the privacy map are OpenDP's whatever the source of the noise: a seeded
    release draws the same distribution (``privacy.noise``) and is charged the same rho.
    ``label`` names the measurement, so that a seeded source keys each one separately.
    """
    scale = gaussian_scale(rho)
    meas = _gaussian(scale)
    values = noise.discrete_gaussian(counts, scale, label)
    return NoisyVector(values, scale, float(meas.map(TABLE_SENSITIVITY)),
                       float(discrete_gaussian_half_width(scale)))


def discrete_gaussian_half_width(scale: float, confidence: float = 0.95) -> int:
    """Smallest integer a with P(|X| <= a) >= confidence for the discrete Gaussian.

    Written out because OpenDP's ``discrete_gaussian_scale_to_accuracy`` bounds
    P(|X| >= a), which for integer noise is one unit wider than the inclusive interval
    the published [lower, upper] columns state.
    """
    reach = math.ceil(12 * scale) + 2
    weights = [math.exp(-(x * x) / (2 * scale * scale)) for x in range(reach + 1)]
    total = weights[0] + 2 * sum(weights[1:])
    covered = weights[0]
    a = 0
    while covered / total < confidence:
        a += 1
        covered += 2 * weights[a]
    return a


def epsilon_of(rho: float, delta: float) -> float:
    """The (epsilon, delta) guarantee implied by rho-zCDP, via OpenDP's conversion."""
    if rho <= 0:
        return 0.0
    scale = math.sqrt(1 / (2 * rho))
    profile = dp.c.make_zCDP_to_approxDP(_gaussian(scale)).map(TABLE_SENSITIVITY)  # type: ignore[no-untyped-call]
    return float(profile.epsilon(delta))
