"""anonymise(): k-anonymous, CTDC-compatible, shuffled, described; on random, demo and CTDC data."""

from __future__ import annotations

import json
import math
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from frictionless import Resource, Schema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycanon import anonymity

from privacy.kanon import KAnonResult, KAnonSpec, anonymise
from privacy.kanon.errors import KAnonymityInfeasible
from privacy.kanon.lattice import Lattice, frequency_set, max_suppressed
from privacy.kanon.verify import MISSING_TOKEN, explicit_missing
from schemas.ctdc_form import from_ctdc
from schemas.definition import SCHEMA
from tests.privacy.kanon.kanon_support import (
    SMALL_QIS,
    brute_force,
    case_rows,
    generalised,
    internal_frame,
)

QI_CTDC = [SCHEMA.field(q).ctdc for q in SCHEMA.quasi_identifiers]
SMALL_CTDC = [str(SCHEMA.field(q).ctdc) for q in SMALL_QIS]

PERSON_A = {"year_of_registration": 2016, "gender": "female", "age_broad": "18-20",
            "majority_status": "adult", "citizenship": "PHL", "country_of_exploitation": "LBY",
            "is_forced_labour": True, "is_sexual_exploit": False, "data_source": "hotline"}
PERSON_B = {"year_of_registration": 2015, "gender": "male", "age_broad": "30-38",
            "majority_status": "adult", "citizenship": "UKR", "country_of_exploitation": "TUN",
            "is_forced_labour": False, "is_sexual_exploit": True,
            "means_of_control_threats": True, "recruiter_relation_friend": True}


def _k_by_groupby(frame: pd.DataFrame, columns: list[str]) -> int:
    """k counted without pandas or pycanon: tuples of cells, missing made explicit."""
    cells = [["" if pd.isna(v) else str(v) for v in frame[c]] for c in columns]
    return min(Counter(zip(*cells, strict=True)).values())


def _check_published(result: KAnonResult, k: int, qi_ctdc: list[str]) -> None:
    prepared = explicit_missing(result.frame, qi_ctdc)
    assert anonymity.k_anonymity(prepared, qi_ctdc) >= k
    assert _k_by_groupby(result.frame, qi_ctdc) >= k
    assert result.k_achieved == _k_by_groupby(result.frame, qi_ctdc)


# --- the published frame -----------------------------------------------------------------


def test_the_published_frame_is_in_ctdc_form_without_internal_fields() -> None:
    frame = internal_frame([PERSON_A] * 12 + [PERSON_B] * 11)
    frame["case_key"] = [f"{i:064x}" for i in range(len(frame))]
    frame["org_id"] = 3
    result = anonymise(frame, KAnonSpec(), seed=1)
    assert list(result.frame.columns) == [f.ctdc for f in SCHEMA.ctdc_fields]
    assert not {"case_key", "org_id", "upload_id"} & set(result.frame.columns)
    assert result.levels == dict.fromkeys(SCHEMA.quasi_identifiers, 0)
    assert result.suppressed == 0 and result.information_loss == 0
    out = result.frame
    assert sorted(out["CountryOfExploitation"].unique()) == ["LY", "TN"]
    assert sorted(out["citizenship"].unique()) == ["PH", "UA"]
    assert str(out["yearOfRegistration"].dtype) == "Int16"
    assert str(out["isForcedLabour"].dtype) == "Int8"
    assert out["isForcedLabour"].sum() == 12
    assert out["meansOfControlThreats"].isna().sum() == 12  # not supplied stays empty
    assert set(out["typeOfExploitConcatenated"].dropna()) == {"Forced labour",
                                                              "Sexual exploitation"}
    assert set(out["RecruiterRelationship"].dropna()) == {"Friend"}
    assert result.k_achieved == 11 and result.class_sizes == {11: 1, 12: 1}


def test_generalised_columns_hold_the_generalised_labels() -> None:
    # Libya and Tunisia are both "Northern Africa": the sub-region is enough for k=11.
    frame = internal_frame([PERSON_A] * 6 + [{**PERSON_A, "country_of_exploitation": "TUN"}] * 6)
    result = anonymise(frame, KAnonSpec(max_suppression=0.0), seed=1)
    assert result.levels["country_of_exploitation"] == 1
    assert set(result.frame["CountryOfExploitation"]) == {"Northern Africa"}
    assert result.privacy()["generalisation_levels"]["CountryOfExploitation"] == 1
    assert result.privacy()["generalisation_level_names"]["CountryOfExploitation"] == (
        "UN M49 sub-region")


def test_a_missing_quasi_identifier_column_counts_as_not_supplied() -> None:
    frame = internal_frame([PERSON_A] * 11).drop(columns=["gender"])
    result = anonymise(frame, KAnonSpec(), seed=1)
    assert result.frame["gender"].isna().all()
    assert result.k_achieved == 11


def test_rows_are_shuffled_reproducibly_and_on_a_fresh_index() -> None:
    rows = [{**PERSON_A, "year_of_registration": 2010 + i // 50} for i in range(200)]
    frame = internal_frame(rows).set_axis(range(1000, 1200))
    spec = KAnonSpec(quasi_identifiers=("year_of_registration",), year_max=2020)
    first = anonymise(frame, spec, seed=5).frame
    assert first.equals(anonymise(frame, spec, seed=5).frame)
    assert not first.equals(anonymise(frame, spec, seed=6).frame)
    assert isinstance(first.index, pd.RangeIndex) and first.index[0] == 0
    years = first["yearOfRegistration"].tolist()
    assert years != sorted(years)  # input order was sorted by year
    assert Counter(years) == Counter(r["year_of_registration"] for r in rows)


@pytest.mark.parametrize(("others", "level", "published"), [
    (0, 1, False),  # the flag is generalised: its concatenation would give it back
    (12, 0, True),
])
def test_a_concatenation_is_withheld_when_it_would_reveal_a_generalised_flag(
        others: int, level: int, published: bool) -> None:
    frame = internal_frame([{**PERSON_A, "is_other_exploit": True}] * 12
                           + [{**PERSON_A, "is_other_exploit": False}] * (others or 1))
    spec = KAnonSpec(quasi_identifiers=("gender", "is_other_exploit"), max_suppression=0.0,
                     sensitive=("is_forced_labour",))
    result = anonymise(frame, spec, seed=1)
    assert result.levels["is_other_exploit"] == level
    assert ("typeOfExploitConcatenated" in result.frame.columns) is published
    assert "meansOfControlConcatenated" in result.frame.columns
    if level:
        assert set(result.frame["isOtherExploit"]) == {"*"}


def test_columns_restrict_what_is_published() -> None:
    frame = internal_frame([PERSON_A] * 11)
    spec = KAnonSpec(columns=("data_source", "is_forced_labour", "is_sexual_exploit"))
    result = anonymise(frame, spec, seed=1)
    assert list(result.frame.columns) == ["yearOfRegistration", "Datasource", "gender",
                                          "ageBroad", "majorityStatus", "citizenship",
                                          "isForcedLabour", "isSexualExploit",
                                          "CountryOfExploitation"]


# --- metadata -------------------------------------------------------------------------------


def test_table_schema_describes_the_published_columns(tmp_path: Path) -> None:
    frame = internal_frame([PERSON_A] * 6 + [{**PERSON_A, "country_of_exploitation": "TUN"}] * 6
                           + [PERSON_B] * 11)
    result = anonymise(frame, KAnonSpec(max_suppression=0.0), seed=1)
    descriptor = result.table_schema()
    assert [f["name"] for f in descriptor["fields"]] == list(result.frame.columns)
    assert descriptor["missingValues"] == [""]
    fields = {f["name"]: f for f in descriptor["fields"]}
    country = fields["CountryOfExploitation"]
    assert country["type"] == "string" and "Northern Africa" in country["categories"]
    assert "LY" not in country["categories"] and "UN M49 sub-region" in country["description"]
    assert fields["yearOfRegistration"]["type"] == "integer"
    for name in SMALL_CTDC:
        categories = fields[name].get("categories")
        if categories is not None:
            assert set(result.frame[name].dropna()) <= set(categories)
    result.frame.to_csv(tmp_path / "kanon.csv", index=False)
    resource = Resource(path="kanon.csv", basepath=str(tmp_path),
                        schema=Schema.from_descriptor(descriptor))
    report = resource.validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:5]


def test_privacy_object_and_report_say_exactly_what_protects_the_file() -> None:
    frame = internal_frame([PERSON_A] * 20 + [PERSON_B])
    result = anonymise(frame, KAnonSpec(), seed=1)
    privacy = result.privacy()
    json.dumps(privacy)
    assert privacy["method"] == "k-anonymity" and privacy["k"] == 11
    assert privacy["quasi_identifiers"] == QI_CTDC
    assert set(privacy["generalisation_levels"]) == set(QI_CTDC)
    assert privacy["max_suppression"] == 0.05
    assert privacy["suppression_within_limit"] is True
    assert privacy["information_loss"] == {"metric": "ncp", "over": "published records",
                                           "value": result.published_loss()}
    assert set(privacy["l_diversity"]) == {"isForcedLabour", "isSexualExploit"}
    report = result.report_markdown()
    for name in QI_CTDC:
        assert f"| {name} |" in report
    assert "Suppression stayed within the limit of 5%" in report
    # Nothing exact about the snapshot: neither the records taken in (21) nor suppressed (1),
    # nor a histogram of class sizes. What the file itself shows may be stated: its one
    # class of 20 rows is k achieved.
    assert result.suppressed == 1 and result.records_in == 21 and len(result.frame) == 20
    text = json.dumps(privacy) + report
    assert not any(key in privacy for key in ("records_suppressed", "records_in",
                                               "class_sizes"))
    assert not re.search(r"\b21\b", text) and "Records suppressed" not in report
    assert "Class size" not in report


@pytest.mark.parametrize("metric", ["ncp", "discernibility"])
def test_the_published_loss_is_a_function_of_the_file_alone(metric: str) -> None:
    """Two snapshots that publish the same file, with different numbers of suppressed
    records, state the same loss (the searched loss would tell them apart)."""
    few = anonymise(internal_frame([PERSON_A] * 20 + [PERSON_B]),
                    KAnonSpec(loss_metric=metric, max_suppression=0.2), seed=1)
    more = anonymise(internal_frame([PERSON_A] * 20 + [PERSON_B] * 2),
                     KAnonSpec(loss_metric=metric, max_suppression=0.2), seed=1)
    assert few.frame.equals(more.frame) and few.suppressed != more.suppressed
    assert few.information_loss != more.information_loss
    assert few.privacy() == more.privacy()
    assert few.report_markdown() == more.report_markdown()


@pytest.mark.parametrize("rows", [0, 5])
def test_too_few_cases_for_k_are_refused(rows: int) -> None:
    frame = internal_frame([PERSON_A] * rows)
    with pytest.raises(KAnonymityInfeasible) as caught:
        anonymise(frame, KAnonSpec(), seed=1)
    assert "LBY" not in str(caught.value) and "PHL" not in str(caught.value)


# --- no one stands out ---------------------------------------------------------------------


UNIQUE = {"year_of_registration": 2003, "gender": "male", "age_broad": "48+",
          "majority_status": "adult", "citizenship": "ISL", "country_of_exploitation": "JPN"}


def test_a_unique_individual_never_appears_as_recorded() -> None:
    frame = internal_frame([PERSON_A] * 30 + [PERSON_B] * 30 + [UNIQUE])
    result = anonymise(frame, KAnonSpec(), seed=1)
    out = result.frame
    # Generalised away or suppressed: their own values are nowhere in the file.
    assert "IS" not in set(out["citizenship"].dropna())
    assert "JP" not in set(out["CountryOfExploitation"].dropna())
    assert "2003" not in set(out["yearOfRegistration"].dropna().astype(str))
    assert len(out) == 60 and result.suppressed == 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(background=case_rows(min_size=20, max_size=60), k=st.integers(2, 5),
       share=st.sampled_from([0.0, 0.05, 0.2]))
def test_an_injected_unique_record_is_never_published_as_is(
        background: list[dict[str, Any]], k: int, share: float) -> None:
    # The unique record's year and country occur nowhere else in the frame.
    unique = {**background[0], "year_of_registration": 2003, "country_of_exploitation": "JPN"}
    frame = internal_frame([*background, unique])
    spec = KAnonSpec(k=k, quasi_identifiers=SMALL_QIS, max_suppression=share,
                     sensitive=("is_forced_labour",), year_max=2020)
    out = anonymise(frame, spec, seed=1).frame
    assert "JP" not in set(out["CountryOfExploitation"].dropna())
    assert "2003" not in set(out["yearOfRegistration"].dropna().astype(str))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=case_rows(max_size=60), k=st.integers(2, 8),
       share=st.sampled_from([0.0, 0.05, 0.1, 0.3]),
       metric=st.sampled_from(["ncp", "discernibility"]))
def test_every_output_is_k_anonymous_minimal_and_made_of_input_records(
        data: list[dict[str, Any]], k: int, share: float, metric: str) -> None:
    frame = internal_frame(data)
    spec = KAnonSpec.model_validate({
        "k": k, "quasi_identifiers": SMALL_QIS, "max_suppression": share,
        "sensitive": ["is_forced_labour"], "loss_metric": metric, "year_max": 2020})
    if len(frame) < k:
        with pytest.raises(KAnonymityInfeasible):
            anonymise(frame, spec, seed=0)
        return
    result = anonymise(frame, spec, seed=0)
    _check_published(result, k, SMALL_CTDC)
    n = len(frame)
    assert result.suppressed <= math.floor(share * n + 1e-9)
    assert len(result.frame) == n - result.suppressed

    # Minimal loss among all feasible nodes, by an independent brute force.
    brute = brute_force(frame, result.hierarchies, k=k, max_suppression=share, metric=metric)
    assert result.information_loss == pytest.approx(
        min(b.loss for b in brute if b.feasible), rel=1e-9, abs=1e-12)

    # The published rows are exactly the kept input rows, generalised: nothing invented.
    chosen = next(b for b in brute if b.levels == tuple(result.levels[q] for q in SMALL_QIS))
    assert chosen.suppressed == result.suppressed
    kept = frame[list(chosen.kept)]
    expected = generalised(kept, result.hierarchies, result.levels)
    expected["Datasource"] = kept["data_source"].map(
        {"case_management": "Case Management", "hotline": "Hotline"}).astype(object)
    expected["isForcedLabour"] = kept["is_forced_labour"].map({True: "1", False: "0"})
    columns = [*SMALL_QIS, "Datasource", "isForcedLabour"]
    published = result.frame.rename(columns=dict(zip(SMALL_CTDC, SMALL_QIS, strict=True)))

    def as_tuples(f: pd.DataFrame) -> Counter[tuple[str, ...]]:
        cells = [["" if pd.isna(v) else str(v) for v in f[c]] for c in columns]
        return Counter(zip(*cells, strict=True))

    assert as_tuples(published) == as_tuples(expected)


# --- real data ------------------------------------------------------------------------------


def test_ctdc_global_dataset_is_k_anonymous_with_less_loss_than_the_naive_baseline(
        ctdc_kanon_path: Path) -> None:
    raw = pd.read_csv(ctdc_kanon_path, dtype=str, keep_default_na=False)
    frame = from_ctdc(raw)
    assert len(frame) == 47_102
    started = time.perf_counter()
    result = anonymise(frame, KAnonSpec())
    elapsed = time.perf_counter() - started
    qi = [str(c) for c in QI_CTDC]
    prepared = explicit_missing(result.frame, qi)
    assert anonymity.k_anonymity(prepared, qi) >= 11
    assert (prepared[qi] == MISSING_TOKEN).any().any()  # missing values were really checked
    assert result.suppressed <= 0.05 * len(frame)
    assert len(result.frame) == len(frame) - result.suppressed

    # Naive baseline: every QI one level below suppression, on the same data and limit.
    hs = [result.hierarchies[q] for q in SCHEMA.quasi_identifiers]
    freq = frequency_set({q: h.key_codes(frame[q])
                          for q, h in zip(SCHEMA.quasi_identifiers, hs, strict=True)})
    lattice = Lattice(hs, freq, k=11, max_suppressed=max_suppressed(len(frame), 0.05),
                      metric="ncp")
    baseline = lattice.evaluate(tuple(max(h.top - 1, 0) for h in hs))
    assert baseline.feasible
    assert result.information_loss < baseline.loss
    assert elapsed < 20


def test_ctdc_global_dataset_at_a_stricter_k(ctdc_kanon_path: Path) -> None:
    frame = from_ctdc(pd.read_csv(ctdc_kanon_path, dtype=str, keep_default_na=False))
    result = anonymise(frame, KAnonSpec(k=50, max_suppression=0.01))
    qi = [str(c) for c in QI_CTDC]
    assert anonymity.k_anonymity(explicit_missing(result.frame, qi), qi) >= 50
    assert result.suppressed <= 0.01 * len(frame)
    assert any(level > 0 for level in result.levels.values())
    assert result.nodes_evaluated < result.lattice_size


def test_demo_data_is_k_anonymous(tmp_path: Path) -> None:
    from ctcollab import pipeline
    from ctcollab.demodata import DEMO_ORGS, generate
    from ctcollab.settings import load_settings
    from privacy import snapshot

    settings_ = load_settings(home=tmp_path / "home",
                              database_url=f"sqlite:///{tmp_path / 'demo.db'}")
    ctx = pipeline.init(settings_)
    for org in DEMO_ORGS:
        pipeline.add_org(ctx, org.slug, org.name)
    for e in generate(tmp_path / "demo", records=2000, seed=7):
        pipeline.ingest_file(ctx, e.org_slug, e.path, mapping=e.mapping, sheet=e.sheet)
    with ctx.engine.begin() as conn:
        frame = snapshot.materialise(conn).frame(conn)
    ctx.engine.dispose()
    assert len(frame) > 1900
    result = anonymise(frame, KAnonSpec())
    qi = [str(c) for c in QI_CTDC]
    assert anonymity.k_anonymity(explicit_missing(result.frame, qi), qi) >= 11
    assert result.suppressed <= 0.05 * len(frame)
    assert np.isfinite(result.information_loss)
