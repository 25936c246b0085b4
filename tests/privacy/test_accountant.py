"""The accountant: every measurement is charged by OpenDP's privacy map before it is drawn,
never beyond the plan's allotment; what it records is what was measured."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy.accountant import Accountant
from privacy.ledger import Budget, Spend
from privacy.mechanisms import gaussian_scale
from privacy.noise import (
    OPENDP,
    NoiseKind,
    NoiseSource,
    gaussian_measurement,
    noisy_max_measurement,
)
from schemas.errors import InternalError

TABLE, SYNTH = "dp-table", "dp-synthetic"


@dataclass
class Recording:
    """A noise source that records what it was asked to draw (and draws no noise)."""

    draws: list[tuple[str, float, str]] = field(default_factory=list)
    kind: NoiseKind = "opendp-csprng"

    def discrete_gaussian(self, counts: Sequence[int], scale: float, label: str) -> list[int]:
        self.draws.append(("gaussian", scale, label))
        return list(counts)

    def noisy_max(self, scores: Sequence[float], scale: float, label: str,
                  sensitivity: float = 1.0) -> int:
        self.draws.append(("noisy-max", scale, label))
        return 0

    def derive(self, context: str) -> NoiseSource:
        return self


def _map(scale: float) -> Fraction:
    return Fraction(gaussian_measurement(scale).map(1))


def test_an_overspending_product_is_refused_before_it_draws() -> None:
    noise = Recording()
    accountant = Accountant({(2024, TABLE): Budget(rho=Fraction(1, 10))})
    charged = accountant.source(noise, 2024, TABLE, "by_gender")
    scale = gaussian_scale(Fraction(1, 10))
    charged.discrete_gaussian([1, 2, 3], scale, "first")
    assert len(noise.draws) == 1
    with pytest.raises(InternalError, match="more on cohort 2024 than its plan allows"):
        charged.discrete_gaussian([1, 2, 3], scale, "second")
    assert len(noise.draws) == 1  # refused before anything was drawn
    assert accountant.used(2024, TABLE) == Budget(rho=_map(scale))  # and not charged
    # No allotment at all: a product may not even ask for a source.
    with pytest.raises(InternalError, match="no allotment"):
        accountant.source(noise, 2023, TABLE, "by_gender")
    with pytest.raises(InternalError):
        accountant.source(noise, 2024, SYNTH, "cases_synthetic")
    # Allotments are per cohort and product: another cohort's room is not borrowed.
    both = Accountant({(2024, TABLE): Budget(rho=Fraction(1, 10)),
                       (2025, TABLE): Budget(rho=Fraction(1))})
    both.source(noise, 2024, TABLE, "t").discrete_gaussian([0], scale, "a")
    with pytest.raises(InternalError):
        both.source(noise, 2024, TABLE, "t").noisy_max([0.0, 1.0], 1.0, "b")


def test_an_overspending_epsilon_delta_product_is_refused() -> None:
    accountant = Accountant({(2024, SYNTH): Budget(approx_epsilon=Fraction(4),
                                                   approx_delta=Fraction(1e-7))})
    accountant.approx(2024, SYNTH, "cases_synthetic", 4.0, 1e-7)
    for eps, delta in ((1e-9, 0.0), (0.0, 1e-12)):
        with pytest.raises(InternalError):
            accountant.approx(2024, SYNTH, "cases_synthetic", eps, delta)
    # A zCDP draw on an (epsilon, delta)-only allotment is over it too.
    with pytest.raises(InternalError):
        accountant.source(OPENDP, 2024, SYNTH, "x").discrete_gaussian([0], 10.0, "z")
    assert accountant.spends == [Spend(2024, SYNTH, "cases_synthetic", None, 4.0, 1e-7)]


def test_what_is_recorded_is_opendps_privacy_map_of_each_measurement() -> None:
    allot = {(2024, TABLE): Budget(rho=Fraction(1)), (2025, TABLE): Budget(rho=Fraction(1)),
             (2024, SYNTH): Budget(rho=Fraction(1))}
    accountant = Accountant(allot, revision=frozenset({2025}))
    noise = Recording()
    accountant.source(noise, 2024, TABLE, "a").discrete_gaussian([5, 6], 3.0, "a")
    accountant.source(noise, 2024, TABLE, "a").discrete_gaussian([5], 4.5, "a2")
    accountant.source(noise, 2024, TABLE, "b").discrete_gaussian([5], 2.0, "b")
    accountant.source(noise, 2025, TABLE, "a").discrete_gaussian([5], 3.0, "a")
    synth = accountant.source(noise, 2024, SYNTH, "cases_synthetic").derive("step")
    synth.noisy_max([0.0, 1.0, 2.0], 7.0, "select", sensitivity=2.0)
    synth.discrete_gaussian([1, 2], 6.0, "marginal")
    expected_max = Fraction(noisy_max_measurement(7.0).map(2.0))
    assert accountant.spends == [
        Spend(2024, SYNTH, "cases_synthetic", expected_max + _map(6.0)),
        Spend(2024, TABLE, "a", _map(3.0) + _map(4.5)),
        Spend(2024, TABLE, "b", _map(2.0)),
        Spend(2025, TABLE, "a", _map(3.0), revision=True),
    ]
    assert accountant.by_cohort() == {
        2024: Budget(rho=expected_max + _map(6.0) + _map(3.0) + _map(4.5) + _map(2.0)),
        2025: Budget(rho=_map(3.0))}
    # Measured by the draws the mechanisms actually made, and in the order they asked.
    assert [d[0] for d in noise.draws] == ["gaussian"] * 4 + ["noisy-max", "gaussian"]
    assert synth.kind == noise.kind


def test_epsilon_delta_spends_are_recorded_apart_from_zcdp() -> None:
    accountant = Accountant({(2024, SYNTH): Budget(rho=Fraction(1), approx_epsilon=Fraction(3),
                                                   approx_delta=Fraction(1e-7))})
    accountant.approx(2024, SYNTH, "cases_synthetic", 1.5, 4e-8)
    accountant.approx(2024, SYNTH, "cases_synthetic", 1.5, 6e-8)
    accountant.source(OPENDP, 2024, SYNTH, "cases_synthetic").discrete_gaussian([1], 5.0, "m")
    assert accountant.spends == [
        Spend(2024, SYNTH, "cases_synthetic", _map(5.0)),
        Spend(2024, SYNTH, "cases_synthetic", None, 3.0, float(Fraction(4e-8) + Fraction(6e-8))),
    ]
    total = accountant.by_cohort()[2024]
    assert (total.approx_epsilon, total.approx_delta) == (Fraction(3),
                                                          Fraction(4e-8) + Fraction(6e-8))


@settings(max_examples=60, deadline=None)
@given(allotment=st.fractions(min_value=Fraction(1, 1000), max_value=Fraction(2)),
       scales=st.lists(st.floats(min_value=0.5, max_value=50.0), min_size=1, max_size=12))
def test_the_total_never_exceeds_the_allotment_and_equals_the_maps(
        allotment: Fraction, scales: list[float]) -> None:
    accountant = Accountant({(2024, TABLE): Budget(rho=allotment)})
    charged = accountant.source(Recording(), 2024, TABLE, "t")
    made = Fraction(0)
    for i, scale in enumerate(scales):
        try:
            charged.discrete_gaussian([0], scale, str(i))
            made += _map(scale)
        except InternalError:
            assert made + _map(scale) > allotment
    assert accountant.used(2024, TABLE).rho == made <= allotment
    assert sum((s.rho or 0 for s in accountant.spends), Fraction(0)) == made
