"""The real HTCDS templates and an XLSForm export, filled with generated cases, through
read_table -> recognise -> prepare -> harmonize: exactly the eligible, consenting cases,
with the right values, and none of the planted PII anywhere."""

from __future__ import annotations

import json
import logging
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from harmonize.harmonizer import Harmonized, case_key, harmonize, linkage_key, linkage_key_year
from harmonize.htcds import (
    LINKAGE_BIRTH_DATE,
    LINKAGE_NAME,
    HtcdsPrepared,
    prepare,
    recognise,
)
from harmonize.linkage import normalise_name
from ingest.readers import read_table
from tests.harmonize.htcds.conftest import ORG_ID, SECRET
from tests.harmonize.htcds.support import (
    EXPLOITATION,
    INDUSTRIES,
    OTHER_EXPLOITATION,
    PLAIN_TEMPLATE,
    SEX_TYPES,
    VALIDATION_TEMPLATE,
    WORKERS,
    Case,
    compare_cases,
    fill_template,
    iter_strings,
    single_select,
    xlsform_case_date,
    xlsform_csv,
)

pytestmark = pytest.mark.usefixtures("htcds_files")


@dataclass(frozen=True)
class Variant:
    """One way a partner fills in the standard."""

    name: str
    form: str
    write: Callable[[list[Case], Path], Path]
    adapt: Callable[[Case], Case]  # what of a case the form can hold
    local_id: Callable[[Case], str]
    case_date: Callable[[Case], date | None]


def _plain(cases: list[Case], tmp: Path) -> Path:
    return fill_template(PLAIN_TEMPLATE, cases, tmp / "cases.xlsx", labels=False,
                         text_dates=True)


def _validation(cases: list[Case], tmp: Path) -> Path:
    return fill_template(VALIDATION_TEMPLATE, cases, tmp / "cases.xlsx", labels=True,
                         text_dates=False)


def _kobo(separator: str, delimiter: str, split: bool) -> Callable[[list[Case], Path], Path]:
    def write(cases: list[Case], tmp: Path) -> Path:
        path = tmp / "kobo_export.csv"
        path.write_bytes(xlsform_csv(cases, separator=separator, delimiter=delimiter,
                                     split_choices=split))
        return path
    return write


def _same(case: Case) -> Case:
    return case


VARIANTS = [
    Variant("excel-template", "excel-template", _plain, _same,
            lambda c: f"template-row-{c.n}", lambda c: c.case_date),
    Variant("excel-template-with-validation", "excel-template", _validation, single_select,
            lambda c: f"template-row-{c.n}", lambda c: c.case_date),
    Variant("kobo-csv-slash-groups", "xlsform", _kobo("/", ";", True), _same,
            lambda c: c.uuid.removeprefix("uuid:"), xlsform_case_date),
    Variant("odk-csv-dash-groups", "xlsform", _kobo("-", ",", False), _same,
            lambda c: c.uuid.removeprefix("uuid:"), xlsform_case_date),
]


@dataclass(frozen=True)
class Run:
    variant: Variant
    cases: list[Case]
    prepared: HtcdsPrepared
    result: Harmonized
    logs: str


@pytest.fixture(params=VARIANTS, ids=lambda v: v.name)
def run(request: pytest.FixtureRequest, cases: list[Case], tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> Run:
    variant: Variant = request.param
    written = [variant.adapt(c) for c in cases]
    caplog.set_level(logging.DEBUG)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl: the templates' validation extension
        path = variant.write(written, tmp_path)
    table = read_table(path.read_bytes(), path.name)
    recognised = recognise(table)
    assert recognised is not None and recognised.form == variant.form
    prepared = prepare(table)
    result = harmonize(prepared.table.frame, prepared.table.source_rows, prepared.mapping,
                       org_id=ORG_ID, secret=SECRET)
    return Run(variant, written, prepared, result, caplog.text)


def test_exactly_the_eligible_consenting_cases_are_harmonised(run: Run) -> None:
    eligible = [c for c in run.cases if c.eligible]
    assert 0 < len(eligible) < len(run.cases)
    keys = {case_key(SECRET, ORG_ID, run.variant.local_id(c)) for c in eligible}
    assert set(run.result.cases["case_key"]) == keys
    assert len(run.result.cases) == len(eligible)
    assert run.result.quarantine == []
    want = Counter(
        "no-consent" if c.consent is False else
        "consent-not-recorded" if c.consent is None else "not-a-victim"
        for c in run.cases if not c.eligible)
    assert run.prepared.excluded == dict(want)
    assert set(want) == {"no-consent", "consent-not-recorded", "not-a-victim"}
    assert run.prepared.rows_read == len(run.cases)
    assert run.prepared.unmapped == {}


def test_every_case_has_the_right_values_field_by_field(run: Run) -> None:
    compared = compare_cases(
        [c for c in run.cases if c.eligible], run.result.cases.set_index("case_key"),
        lambda c: case_key(SECRET, ORG_ID, run.variant.local_id(c)), run.variant.case_date)
    assert compared > 30 * 20


def test_the_generated_cases_cover_every_mapped_value(run: Run) -> None:
    """No test that cannot fail: the comparison above must have met every value."""
    eligible = [c for c in run.cases if c.eligible]
    exploitation = {k for c in eligible for k in c.exploitation}
    industries = {k for c in eligible for k in c.industries}
    sex = {k for c in eligible for k in c.sex_types}
    if run.variant.adapt is _same:
        assert exploitation == set(EXPLOITATION)
        assert industries == set(INDUSTRIES)
        assert sex == set(SEX_TYPES)
    assert len({c.gender for c in eligible}) == 6
    assert any(c.citizenship and c.citizenship[0] in ("TR", "CD") for c in eligible)


def test_values_without_a_common_schema_slot_are_counted(run: Run) -> None:
    want = Counter(k for c in run.cases if c.eligible for k in c.exploitation
                   if k in OTHER_EXPLOITATION)
    assert run.prepared.other_exploitation == dict(want)


def test_planted_pii_is_nowhere(run: Run) -> None:
    pii = {s for c in run.cases for s in c.pii}
    pii |= {w.lower().replace(" ", "_") for w in WORKERS}  # Kobo's _submitted_by
    pii |= {c.uuid for c in run.cases} | {c.uuid.removeprefix("uuid:") for c in run.cases}
    places = [*iter_strings(run.result.report()), *iter_strings(run.prepared.report()),
              *iter_strings(run.result.notes), run.logs,
              run.result.cases.to_csv(), json.dumps(run.result.cases.astype(str).to_dict()),
              *(str(q) for q in run.result.quarantine)]
    for text in places:
        for secret in pii:
            assert secret not in text, (secret, text[:200])
    # and the prepared table, all that harmonize ever sees, holds none of it but the case id
    # and the two columns read only for the linkage keys: the name and the birth date
    linkage = [LINKAGE_NAME, LINKAGE_BIRTH_DATE]
    frame = run.prepared.table.frame.drop(columns=["htcds.case_id", *linkage])
    values = " | ".join(str(v) for v in frame.to_numpy().ravel())
    for secret in pii:
        assert secret not in values, secret
    eligible = [c for c in run.cases if c.eligible]
    assert run.prepared.table.frame[LINKAGE_NAME].tolist() == [
        f"{c.first_name} {c.second_name}" for c in eligible]
    assert run.prepared.table.frame[LINKAGE_BIRTH_DATE].tolist() == [
        c.birth.isoformat() if c.birth else "" for c in eligible]
    for column in ("prs_FirstName", "prs_SecondName", "prs_Email", "prs_HomePhone",
                   "prs_MobilePhone", "prs_MailingStreet", "prs_Birthdate", "cas_CaseOwner"):
        assert column not in run.prepared.table.columns


def test_linkage_keys_come_from_the_name_birth_date_and_citizenship(run: Run) -> None:
    by_key = run.result.cases.set_index("case_key")
    with_key = 0
    for c in run.cases:
        if not c.eligible:
            continue
        row = by_key.loc[case_key(SECRET, ORG_ID, run.variant.local_id(c))]
        name = normalise_name([c.first_name, c.second_name])
        want = linkage_key(SECRET, name, c.birth)
        assert (None if pd.isna(row["linkage_key"]) else row["linkage_key"]) == want, c.n
        citizenship = None if pd.isna(row["citizenship"]) else str(row["citizenship"])
        year = linkage_key_year(SECRET, name, c.birth.year if c.birth else None, citizenship)
        got = None if pd.isna(row["linkage_key_year"]) else row["linkage_key_year"]
        assert got == year, c.n
        with_key += want is not None and year is not None
    assert with_key >= 10  # both keys met, not only missing ones


def test_the_report_names_dropped_columns_but_no_values(run: Run) -> None:
    dropped = run.prepared.report()["columns_dropped"]
    assert isinstance(dropped, list)
    assert any(c.endswith("prs_Email") for c in dropped)
    assert any(c.endswith("prs_Birthdate") for c in dropped)
    assert any(c.endswith("cas_IncomingReferralDetails") for c in dropped)


def test_unlisted_labour_sectors_are_recorded_as_not(run: Run) -> None:
    by_key = run.result.cases.set_index("case_key")
    for c in run.cases:
        if c.eligible and c.industries:
            row = by_key.loc[case_key(SECRET, ORG_ID, run.variant.local_id(c))]
            listed = {INDUSTRIES[k][1] for k in c.industries}
            for _, flag in INDUSTRIES.values():
                if flag not in listed and flag != "type_of_labour_begging":
                    assert row[flag] is False or row[flag] == False  # noqa: E712
