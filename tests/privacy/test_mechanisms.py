"""Mechanisms: the noise has the scale the privacy map claims (statistical), and the map holds."""

from __future__ import annotations

import math
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from privacy.mechanisms import discrete_gaussian, epsilon_of, gaussian_scale


@given(st.fractions(min_value=Fraction(1, 1000), max_value=Fraction(10)))
@settings(max_examples=25, deadline=None)
def test_scale_is_the_smallest_within_rho(rho: Fraction) -> None:
    scale = gaussian_scale(rho)
    assert scale >= math.sqrt(1 / (2 * float(rho))) * (1 - 1e-9)
    assert scale <= math.sqrt(1 / (2 * float(rho))) * (1 + 1e-6)


# The noise's distribution (variance, coverage of the published interval, CDF) is tested for
# OpenDP and for the seeded sampler alike in tests/privacy/test_noise.py.


def test_noise_is_not_constant_and_counts_are_integers() -> None:
    out = discrete_gaussian([0, 0, 0, 0, 0, 0, 0, 0], Fraction(1, 10))
    assert all(isinstance(v, int) for v in out.values)
    assert len(set(out.values)) > 1


def test_epsilon_grows_with_rho_and_shrinks_with_delta() -> None:
    assert epsilon_of(0.1, 1e-9) < epsilon_of(0.5, 1e-9)
    assert epsilon_of(0.5, 1e-6) < epsilon_of(0.5, 1e-9)
    # The classic bound rho + 2 sqrt(rho log 1/delta) is an upper bound of OpenDP's curve.
    rho, delta = 0.5, 1e-9
    assert epsilon_of(rho, delta) <= rho + 2 * math.sqrt(rho * math.log(1 / delta)) + 1e-9
