"""The synthetic spec: one budget, public-domain columns only, an exact rho for an epsilon."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from privacy.mechanisms import epsilon_of
from privacy.synthetic.spec import DEFAULT_COLUMNS, SyntheticSpec, rho_for_epsilon


def test_default_is_a_sensible_plan() -> None:
    spec = SyntheticSpec(epsilon=1.0)
    assert spec.method == "marginal"
    assert len(spec.columns) >= 12 and spec.columns == DEFAULT_COLUMNS
    assert spec.year_min == 2015 and spec.rows is None


@pytest.mark.parametrize("kwargs", [
    {},  # no budget
    {"epsilon": 1.0, "rho": 0.1},  # two budgets
    {"rho": 0.1, "columns": ("case_key",)},  # not a public domain
    {"rho": 0.1, "columns": ("meansOfControlConcatenated",)},
    {"rho": 0.1, "columns": ("gender", "gender")},
    {"rho": 0.1, "method": "aim"},
    {"rho": 0.1, "unknown": 1},  # extra=forbid
    {"rho": -1},
])
def test_invalid_specs_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        SyntheticSpec(**kwargs)  # type: ignore[arg-type]


def test_spec_is_frozen() -> None:
    spec = SyntheticSpec(rho=0.1)
    with pytest.raises(ValidationError):
        spec.rho = 0.2  # type: ignore[misc]


def test_rho_is_the_exact_decimal_the_spec_wrote() -> None:
    assert SyntheticSpec(rho=0.3).budget_rho() == Fraction(3, 10)
    assert SyntheticSpec(rho=0.3, delta=1e-6).budget_epsilon() == epsilon_of(0.3, 1e-6)


@given(st.floats(min_value=0.2, max_value=10), st.sampled_from([1e-5, 1e-6, 1e-9]))
@settings(max_examples=8, deadline=None)
def test_rho_for_epsilon_is_within_and_tight(epsilon: float, delta: float) -> None:
    rho = rho_for_epsilon(epsilon, delta)
    assert rho.denominator <= 10**9  # short and exact in the ledger
    assert epsilon_of(float(rho), delta) <= epsilon
    # One step more on the grid (or a hair more) would exceed it: nothing is left unused.
    assert epsilon_of(float(rho) * 1.001, delta) > epsilon
