"""Lattice search: known optima on hand-made frames, monotonicity, and brute force agreement."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privacy.kanon.hierarchies import MISSING, Hierarchy, hierarchy_for
from privacy.kanon.lattice import Lattice, LossMetric, frequency_set, max_suppressed, search
from tests.privacy.kanon.kanon_support import SMALL_QIS, brute_force, case_rows, internal_frame

YEARS = (2010, 2020)


def lattice_of(frame: pd.DataFrame, qis: Sequence[str], *, k: int, max_suppression: float = 0.0,
               metric: LossMetric = "ncp") -> tuple[dict[str, Hierarchy], Lattice]:
    hs = {q: hierarchy_for(q, years=YEARS) for q in qis}
    freq = frequency_set({q: hs[q].key_codes(frame[q]) for q in qis})
    return hs, Lattice(list(hs.values()), freq, k=k,
                       max_suppressed=max_suppressed(len(frame), max_suppression), metric=metric)


def rows(n: int, **values: Any) -> list[dict[str, Any]]:
    return [dict(values) for _ in range(n)]


def test_frequency_set_groups_every_record_once() -> None:
    frame = internal_frame(rows(3, gender="female", country_of_exploitation="LBY")
                           + rows(2, gender="male") + rows(1, gender="female"))
    hs = {q: hierarchy_for(q, years=YEARS) for q in ("gender", "country_of_exploitation")}
    codes = {q: hs[q].key_codes(frame[q]) for q in hs}
    freq = frequency_set(codes)
    assert freq.n == 6 and sorted(freq.counts.tolist()) == [1, 2, 3]
    stacked = np.column_stack(list(codes.values()))
    assert np.array_equal(freq.codes[freq.of_row], stacked)


def test_an_anonymous_frame_is_left_as_it_is() -> None:
    frame = internal_frame(rows(12, gender="female", country_of_exploitation="LBY")
                           + rows(12, gender="male", country_of_exploitation="TUN"))
    _, lattice = lattice_of(frame, ("gender", "country_of_exploitation"), k=11)
    found = search(lattice)
    assert found is not None
    assert found.best.levels == (0, 0) and found.best.suppressed == 0 and found.best.loss == 0


def test_the_cheapest_sufficient_generalisation_is_chosen() -> None:
    # Libya and Tunisia are both Northern Africa: the sub-region merges them into 12.
    frame = internal_frame(rows(6, gender="female", country_of_exploitation="LBY")
                           + rows(6, gender="female", country_of_exploitation="TUN"))
    hs, lattice = lattice_of(frame, ("gender", "country_of_exploitation"), k=11)
    found = search(lattice)
    assert found is not None and found.best.levels == (0, 1)
    country = hs["country_of_exploitation"]
    in_subregion = country.labels[1].count("Northern Africa")
    assert found.best.loss == pytest.approx((in_subregion - 1) / (len(country.keys) - 1) / 2)


@pytest.mark.parametrize(("share", "metric", "levels", "suppressed", "loss"), [
    # One record out of 21 may go: suppressing the lone man costs 1/21 of the NCP...
    (0.05, "ncp", (0, 0), 1, 1 / 21),
    # ...far less than hiding every gender (NCP 1/2), the only option when none may go.
    (0.0, "ncp", (1, 0), 0, 0.5),
    # Discernibility: 20² + 21 (one suppressed) = 421 beats one class of 21² = 441.
    (0.05, "discernibility", (0, 0), 1, 421.0),
    (0.0, "discernibility", (1, 0), 0, 441.0),
])
def test_suppression_and_generalisation_are_traded_by_loss(
        share: float, metric: LossMetric, levels: tuple[int, ...], suppressed: int,
        loss: float) -> None:
    frame = internal_frame(rows(20, gender="female", country_of_exploitation="LBY")
                           + rows(1, gender="male", country_of_exploitation="LBY"))
    _, lattice = lattice_of(frame, ("gender", "country_of_exploitation"), k=11,
                            max_suppression=share, metric=metric)
    found = search(lattice)
    assert found is not None
    assert found.best.levels == levels
    assert found.best.suppressed == suppressed
    assert found.best.loss == pytest.approx(loss)


def test_fewer_records_than_k_make_every_node_infeasible() -> None:
    frame = internal_frame(rows(5, gender="female"))
    _, lattice = lattice_of(frame, ("gender", "age_broad"), k=11, max_suppression=0.5)
    assert search(lattice) is None


def _mixed_frame(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)

    def pick(values: list[Any]) -> list[Any]:
        return [values[i] for i in rng.integers(0, len(values), n)]

    return internal_frame([
        {"gender": g, "age_broad": a, "country_of_exploitation": c, "year_of_registration": y}
        for g, a, c, y in zip(pick(["female", "female", "male", "unknown"]),
                              pick(["9-17", "18-20", "21-23", "30-38", "48+", None]),
                              pick(["LBY", "LBY", "TUN", "NER", "GBR", "FRA", "unknown"]),
                              pick([2012, 2014, 2015, 2016, 2016, 2017]), strict=True)])


def test_feasibility_and_suppression_are_monotone_over_the_lattice() -> None:
    _, lattice = lattice_of(_mixed_frame(1, 400), SMALL_QIS, k=8, max_suppression=0.05)
    results = {node: lattice.evaluate(node) for node in lattice.nodes}
    for a, b in itertools.product(results, repeat=2):
        if all(x <= y for x, y in zip(a, b, strict=True)):
            assert results[b].suppressed <= results[a].suppressed
            assert results[b].feasible or not results[a].feasible
            assert lattice.lower_bound(a) <= lattice.lower_bound(b) + 1e-15
    for node, result in results.items():
        assert lattice.lower_bound(node) <= result.loss + 1e-12


@pytest.mark.parametrize("metric", ["ncp", "discernibility"])
def test_pruning_counts_fewer_nodes_than_the_lattice_holds(metric: LossMetric) -> None:
    _, lattice = lattice_of(_mixed_frame(2, 3000), SMALL_QIS, k=5, max_suppression=0.05,
                            metric=metric)
    found = search(lattice)
    assert found is not None
    assert found.lattice_size == 4 * 2 * 4 * 4
    brute = [lattice.evaluate(node) for node in lattice.nodes]
    assert found.feasible_nodes == sum(r.feasible for r in brute)
    assert found.best.loss == pytest.approx(min(r.loss for r in brute if r.feasible))
    if metric == "ncp":
        assert found.evaluated < found.lattice_size / 2


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=case_rows(max_size=50), k=st.integers(2, 6),
       share=st.sampled_from([0.0, 0.05, 0.1, 0.3]),
       metric=st.sampled_from(["ncp", "discernibility"]))
def test_the_search_finds_the_brute_force_optimum(
        data: list[dict[str, Any]], k: int, share: float, metric: LossMetric) -> None:
    frame = internal_frame(data)
    hs, lattice = lattice_of(frame, SMALL_QIS, k=k, max_suppression=share, metric=metric)
    brute = brute_force(frame, hs, k=k, max_suppression=share, metric=metric)
    feasible = [b for b in brute if b.feasible]
    found = search(lattice) if len(frame) else None
    if not feasible or not len(frame):
        assert found is None
        return
    assert found is not None
    assert found.feasible_nodes == len(feasible)
    best = min(b.loss for b in feasible)
    assert found.best.loss == pytest.approx(best, rel=1e-9, abs=1e-12)
    chosen = next(b for b in brute if b.levels == found.best.levels)
    assert chosen.feasible
    assert chosen.suppressed == found.best.suppressed
    assert chosen.loss == pytest.approx(found.best.loss, rel=1e-9, abs=1e-12)


def test_class_keys_do_not_overflow_with_many_quasi_identifiers() -> None:
    # 33 QIs of 4 values each: a key space of 4**33 = 2**66. Without renumbering, the first
    # QI's weight 4**32 = 2**64 wraps to 0 in int64, and these two records would merge.
    h = Hierarchy("x", ("value", "suppressed"), ("a", "b", "c", MISSING),
                  (("A", "B", "C", MISSING), ("*",) * 4))
    codes = {f"q{i}": np.zeros(2, dtype=np.int64) for i in range(33)}
    codes["q0"] = np.array([0, 1], dtype=np.int64)
    lattice = Lattice([h] * 33, frequency_set(codes), k=2, max_suppressed=0, metric="ncp")
    assert lattice.combination_class_sizes((0,) * 33).tolist() == [1, 1]
    assert lattice.combination_class_sizes((1,) + (0,) * 32).tolist() == [2, 2]
