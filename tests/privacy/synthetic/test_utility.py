"""The utility report: built from DP measurements alone, and only what they imply."""

from __future__ import annotations

import inspect
import json
import math

import pandas as pd

from privacy.mechanisms import discrete_gaussian_half_width
from privacy.synthetic.marginal import measure
from privacy.synthetic.spec import SyntheticSpec
from privacy.synthetic.utility import marginal_utility
from tests.privacy.synthetic.conftest import COLUMNS


def test_report_is_a_function_of_the_measurements_only(frame_20k: pd.DataFrame) -> None:
    # Its inputs are the DP measurements and a row count: no frame can reach it.
    assert list(inspect.signature(marginal_utility).parameters) == ["meas", "rows"]
    meas = measure(frame_20k, SyntheticSpec(columns=COLUMNS, rho=0.2))
    report = marginal_utility(meas, 100)
    assert report == marginal_utility(meas, 100)
    json.dumps(report)


def test_expected_errors_follow_the_noise_scale(frame_20k: pd.DataFrame) -> None:
    meas = measure(frame_20k, SyntheticSpec(columns=COLUMNS, rho=0.2))
    report = marginal_utility(meas, 100)
    tables = [*meas.one_way, *(meas.tables[c] for c in meas.order[1:])]
    assert len(report["marginals"]) == len(tables)
    for entry, table in zip(report["marginals"], tables, strict=True):
        assert entry["columns"] == list(table.columns)
        assert entry["cells"] == table.counts.size
        assert entry["count_accuracy95"] == discrete_gaussian_half_width(table.scale)
        expected = 0.5 * math.sqrt(2 / math.pi) * table.scale * table.counts.size / meas.n_hat
        assert math.isclose(entry["expected_tvd_from_noise"], min(expected, 1.0), abs_tol=1e-4)
        # After post-processing the error can only be estimated, and is never above the raw one.
        assert 0 <= entry["expected_tvd"] <= entry["expected_tvd_from_noise"]
    assert [n["child"] for n in report["network"]] == [COLUMNS[c] for c in meas.order[1:]]
