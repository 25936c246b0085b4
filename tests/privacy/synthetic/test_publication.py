"""Publishing: CTDC-compatible synthetic rows, marked synthetic, with an exact privacy object."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from privacy.synthetic import SyntheticResult, SyntheticSpec, synthesize
from privacy.synthetic.publication import RESOURCE_NAME, privacy, report_markdown, to_published
from privacy.synthetic.result import SyntheticSpend
from schemas.definition import SCHEMA
from tests.privacy.synthetic.conftest import COLUMNS

RECRUITER = tuple(f.name for f in SCHEMA.flags_of("recruiter_relation"))


@pytest.fixture(scope="module")
def result(frame_20k: pd.DataFrame) -> SyntheticResult:
    return synthesize(frame_20k, SyntheticSpec(columns=COLUMNS, rho=0.2), seed=0)


def test_published_rows_are_in_ctdc_form(result: SyntheticResult) -> None:
    out = to_published(result)
    ctdc = {f.name: f.ctdc for f in SCHEMA.ctdc_fields}
    assert list(out.columns) == [f.ctdc for f in SCHEMA.ctdc_fields if f.name in COLUMNS]
    assert set(out.columns) == {ctdc[c] for c in COLUMNS}
    assert set(out["gender"].dropna()) <= {v.label for v in SCHEMA.vocabularies["gender"].values}
    assert set(out["isAbduction"].dropna()) <= {0, 1}
    assert set(out["citizenship"].dropna()) <= {"PH", "UA", "MD", "NG"} | {
        v.label for v in SCHEMA.vocabularies["country"].values}
    assert "synthetic" in RESOURCE_NAME


def test_concatenations_only_when_the_whole_flag_group_is_synthesized() -> None:
    frame = pd.DataFrame({c: pd.Series([True, None], dtype="boolean") for c in RECRUITER})
    spends = [SyntheticSpend("dp-synthetic", "x", None, 1.0, 1e-6)]
    whole = SyntheticResult(frame, spends, {}, "pac-synth", {})
    assert "RecruiterRelationship" in to_published(whole).columns
    part = SyntheticResult(frame[list(RECRUITER[:2])], spends, {}, "pac-synth", {})
    assert "RecruiterRelationship" not in to_published(part).columns


def test_privacy_object_states_the_exact_guarantee(result: SyntheticResult) -> None:
    p = privacy(result)
    assert p["method"] == "dp-synthetic" and p["synthetic"] is True
    assert p["rho"] == pytest.approx(0.2) and p["rho_exact"] == "1/5"
    assert p["epsilon"] == result.params["epsilon"] and p["delta"] == result.params["delta"]
    assert len(p["marginals"]) == len(COLUMNS) + len(COLUMNS) - 1  # 1-ways and the network
    assert ["isSexualExploit"] in p["marginals"]  # CTDC's names, as in the published file
    assert p["rows"] == len(result.frame)
    json.dumps(p)
    assert result.privacy() == p


def test_report_says_what_the_data_is_good_for_and_not(result: SyntheticResult) -> None:
    text = report_markdown(result)
    assert "synthetic" in text.lower() and "Not good for" in text
    assert "no row describes a real person" in text
    ctdc = {f.name: str(f.ctdc) for f in SCHEMA.ctdc_fields}

    def label(axis: str) -> str:  # "age_broad (top 4 values, rest pooled)" -> "ageBroad (top…"
        name, sep, rest = axis.partition(" (")
        return ctdc[name] + sep + rest

    for table in result.utility["marginals"]:
        if table["role"] == "network":
            assert " × ".join(label(c) for c in table["columns"]) in text
    assert result.table_schema()["fields"][0]["description"].endswith("no row is a real case.")
