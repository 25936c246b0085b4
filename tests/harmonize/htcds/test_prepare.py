"""Recognising HTCDS extracts and screening them: eligibility, consent, PII, derived columns."""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path

import pandas as pd
import pytest

import harmonize.htcds as htcds
from harmonize.harmonizer import case_key, harmonize
from harmonize.htcds import (
    AGE,
    CASE_DATE,
    CASE_ID,
    LINKAGE_BIRTH_DATE,
    LINKAGE_NAME,
    METHODOLOGY_NOTE,
    NotHtcds,
    builtin_mapping,
    prepare,
    recognise,
)
from harmonize.htcds_crosswalk import crosswalk
from harmonize.mapping import Mapping
from ingest.readers import read_table
from ingest.table import RawTable
from tests.harmonize.htcds.conftest import ORG_ID, SECRET
from tests.harmonize.htcds.support import PLAIN_TEMPLATE, VALIDATION_TEMPLATE, iter_strings


def table(rows: list[dict[str, str]], name: str = "export.csv") -> RawTable:
    """A CSV export with the given columns, read back through the real reader."""
    columns = list(dict.fromkeys(c for r in rows for c in r))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({c: r.get(c, "") for c in columns} for r in rows)
    return read_table(buffer.getvalue().encode("utf-8"), name)


def case(n: int, **values: str) -> dict[str, str]:
    """A system-export row of an eligible, consenting case, with PII."""
    row = {"cas_CaseNumber": f"C-{n:03d}", "prs_FirstName": f"Zelda{n}",
           "prs_SecondName": f"Quorrington{n}", "prs_Email": f"zq{n}@example.net",
           "prs_MobilePhone": f"+44 7700 900{n:03d}", "prs_MailingStreet": f"{n} Harrow Lane",
           "prs_Birthdate": "1999-04-30", "prs_Gender": "Feminine",
           "vic_TraffickingStatus": "ActualVictimOfTrafficking", "con_Consent": "TRUE",
           "cas_IncomingReferralDate": "2022-06-15", "vic_TypeOfExploitation": "ForcedLabour",
           "cas_CaseOwner": "Worker Winifred", "cas_IncomingReferralDetails": f"note {n}"}
    row.update(values)
    return row


def run(t: RawTable) -> tuple[htcds.HtcdsPrepared, pd.DataFrame, dict[str, object]]:
    prepared = prepare(t)
    result = harmonize(prepared.table.frame, prepared.table.source_rows, prepared.mapping,
                       org_id=ORG_ID, secret=SECRET)
    return prepared, result.cases, result.report()


def key(local_id: str) -> str:
    return case_key(SECRET, ORG_ID, local_id)


# --- recognise ----------------------------------------------------------------------------


@pytest.mark.usefixtures("htcds_files")
@pytest.mark.parametrize("template", [PLAIN_TEMPLATE, VALIDATION_TEMPLATE], ids=lambda p: p.stem)
def test_the_empty_excel_templates_are_recognised(template: Path) -> None:
    found = recognise(read_table(template.read_bytes(), template.name))
    assert found is not None and found.form == "excel-template"
    assert {"con_Consent", "prs_Gender", "vic_TraffickingStatus",
            "vic_TraffickingStatusDecisionMakingOrg",  # the template's misspelt name
            "cas_ReasonForOutgoingReferral"} <= set(found.fields)  # the template's blank name


@pytest.mark.parametrize("columns", [
    ["group_x/prs_Gender", "group_x/prs_First_Name", "consent/con_Consent",
     "victim/vic_TraffickingStatus"],
    ["prs_info-prs_Gender", "prs_info-prs_Birthdate", "con-con_Consent",
     "vic_info-vic_TypeOfExploitation", "meta-instanceID"],
    ["prs_Gender", "con_Consent", "vic_TraffickingStatus", "_uuid", "_submission_time"],
    ["prs_Gender", "con_Consent", "vic_TraffickingStatus", "vic_TypeOfExploitation/Other"],
])
def test_xlsform_exports_are_recognised_through_group_paths(columns: list[str]) -> None:
    found = recognise(table([{c: "" for c in columns}]))
    assert found is not None and found.form == "xlsform"


def test_a_system_export_is_recognised_by_its_field_names() -> None:
    found = recognise(table([case(1)]))
    assert found is not None and found.form == "system-export"
    assert found.fields[:3] == ("prs_FirstName", "prs_SecondName", "prs_Email")


@pytest.mark.parametrize("columns", [
    ["N° dossier", "Sexe", "Nationalité", "Type d'exploitation", "Nom"],
    ["prs_Gender", "prs_FirstName", "prs_Birthdate"],  # one table only
    ["prs_Gender", "vic_TraffickingStatus"],  # two fields only
    ["prs_Whatever", "vic_Something", "cas_Other"],  # prefixes, but not the standard's fields
])
def test_other_tables_are_not_htcds(columns: list[str]) -> None:
    t = table([{c: "x" for c in columns}])
    assert recognise(t) is None
    with pytest.raises(NotHtcds):
        prepare(t)


# --- eligibility and consent ------------------------------------------------------------


def test_only_eligible_consenting_cases_pass_and_the_others_are_counted_by_reason() -> None:
    rows = [
        case(1),
        case(2, vic_TraffickingStatus="Possible victim of trafficking", con_Consent="Yes"),
        case(3, con_Consent="FALSE"),
        case(4, con_Consent="No", vic_TraffickingStatus="NotAVictimOfTrafficking"),
        case(5, con_Consent=""),
        case(6, con_Consent="perhaps later"),
        case(7, vic_TraffickingStatus="NotAVictimOfTrafficking"),
        case(8, vic_TraffickingStatus="Not a victim of trafficking"),
        case(9, vic_TraffickingStatus=""),
        case(10, vic_TraffickingStatus="Under assessment"),
        case(11, con_Consent="1", vic_TraffickingStatus="actual victim of trafficking"),
    ]
    prepared, cases, report = run(table(rows))
    assert prepared.excluded == {"no-consent": 2, "consent-not-recorded": 2, "not-a-victim": 2,
                                 "trafficking-status-missing": 2}
    assert set(cases["case_key"]) == {key("C-001"), key("C-002"), key("C-011")}
    assert prepared.rows_read == 11 and report["rows_read"] == 3
    # what was excluded is nowhere: not even its row numbers
    assert list(prepared.table.source_rows) == [2, 3, 12]  # CSV records; header is 1
    assert "Zelda3" not in json.dumps(prepared.report()) + json.dumps(report)


def test_without_a_consent_column_nothing_enters() -> None:
    rows = [{k: v for k, v in case(n).items() if k != "con_Consent"} for n in (1, 2)]
    rows[0]["vic_AgreementToManagePersonalData"] = "TRUE"  # deprecated; not consent to share
    prepared, cases, _ = run(table(rows))
    assert prepared.excluded == {"consent-not-recorded": 2}
    assert cases.empty


def test_a_csv_saved_from_the_template_loses_its_label_row_and_empty_numbered_rows() -> None:
    names = ["", "cas_CaseOwner", "prs_FirstName", "con_Consent", "prs_Gender",
             "vic_TraffickingStatus", "cas_IncomingReferralDate"]
    labels = ["", "Case Owner", "First Name", "Consent", "Gender", "Trafficking Status",
              "Incoming Referral Date"]
    body = [["1", "Worker Winifred", "Zelda", "Yes", "Masculine", "Actual victim of trafficking",
             "2021-01-02"], ["2", "", "", "", "", "", ""], ["3", "", "", "", "", "", ""]]
    text = "\r\n".join(",".join(r) for r in [names, labels, *body]) + "\r\n"
    prepared, cases, _ = run(read_table(text.encode(), "template.csv"))
    assert len(cases) == 1 and cases.loc[0, "gender"] == "male"
    assert prepared.excluded == {"header-row": 1}  # the reader already skips numbered rows
    assert prepared.table.frame[CASE_ID].tolist() == ["template-row-1"]


def test_methodology_note_states_both_rules_and_is_the_module_docstring() -> None:
    note = " ".join(METHODOLOGY_NOTE.split())
    assert note in " ".join((htcds.__doc__ or "").split())
    for words in ("con_Consent", "vic_TraffickingStatus", "Actual victim of trafficking",
                  "Possible victim of trafficking", "Not a victim of trafficking",
                  "presumed", "identified", "before anything but the raw file is stored"):
        assert words in note


# --- PII ------------------------------------------------------------------------------------


def test_identifying_columns_are_dropped_and_named_only() -> None:
    row = case(1, prs_Salutation="Dr", prs_Title="Chief Engineer", prs_HomePhone="+1 202 555 0143",
               prs_MailingCity="Harrowgate", prs_MailingPostalCode="HG1 2AB",
               prs_IdentityNumber="X1234567", cas_ReferringPrimaryCaseWorker="Wilhelmina Kraus",
               cas_OutgoingReferralDetails="handed over to Wilhelmina",
               vic_LocationOfExploitation="12 Canal Street, Libya", Notes="called Zelda again",
               _submitted_by="enumerator_winifred")
    t = table([row])
    prepared = prepare(t)
    for column in ("prs_FirstName", "prs_SecondName", "prs_Salutation", "prs_Title", "prs_Email",
                   "prs_HomePhone", "prs_MobilePhone", "prs_MailingStreet", "prs_MailingCity",
                   "prs_MailingPostalCode", "prs_IdentityNumber", "prs_Birthdate",
                   "cas_CaseOwner", "cas_ReferringPrimaryCaseWorker",
                   "cas_IncomingReferralDetails", "cas_OutgoingReferralDetails",
                   "vic_LocationOfExploitation", "Notes", "_submitted_by", "cas_CaseNumber"):
        assert column in prepared.dropped_columns
        assert column not in prepared.table.columns
    # the name and birth date travel, in two derived columns, only to be keyed by the
    # harmonizer into the linkage keys
    assert prepared.table.frame[LINKAGE_NAME].tolist() == ["Zelda1 Quorrington1"]
    assert prepared.table.frame[LINKAGE_BIRTH_DATE].tolist() == ["1999-04-30"]
    kept = {str(v) for v in prepared.table.frame.drop(
        columns=[LINKAGE_NAME, LINKAGE_BIRTH_DATE]).to_numpy().ravel()}
    for value in row.values():
        if value not in ("TRUE", "Feminine", "ActualVictimOfTrafficking", "ForcedLabour",
                         "2022-06-15", "C-001"):
            assert value not in kept, value
    # the local case id travels only to be keyed (HMAC) by the harmonizer
    assert prepared.table.frame[CASE_ID].tolist() == ["C-001"]
    cases = harmonize(prepared.table.frame, prepared.table.source_rows, prepared.mapping,
                      org_id=ORG_ID, secret=SECRET).cases
    assert cases.loc[0, "country_of_exploitation"] == "LBY"
    assert "C-001" not in cases.to_csv()


def test_unknown_values_are_counted_never_quoted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret_word = "Zelda Quorrington"
    rows = [case(1, prs_Gender=secret_word, vic_TypeOfExploitation=f"ForcedLabour;{secret_word}",
                 prs_Citizenship=secret_word, vic_AgeWhenTrafficked=secret_word),
            case(2, prs_Gender="Masculine")]
    prepared, cases, report = run(table(rows))
    assert prepared.unmapped == {"prs_Gender": 1, "vic_TypeOfExploitation": 1,
                                 "prs_Citizenship": 1, "vic_AgeWhenTrafficked": 1}
    assert cases["gender"].isna().tolist() == [True, False]
    assert bool(cases.loc[0, "is_forced_labour"])
    everything = [*iter_strings(report), *iter_strings(prepared.report()), caplog.text,
                  cases.to_csv()]
    assert not any(secret_word in s or "Zelda" in s for s in everything)


def test_logs_carry_counts_only(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="ctcollab")
    run(table([case(1), case(2, con_Consent="No")]))
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("ctcollab")]
    assert messages == ["HTCDS system-export: 2 rows read, 1 eligible, 1 excluded, "
                        "9 columns dropped"]


# --- derived columns ----------------------------------------------------------------------


def test_age_and_majority_are_computed_at_the_case_date_and_the_birth_date_dropped() -> None:
    rows = [
        case(1, prs_Birthdate="2004-06-16", cas_IncomingReferralDate="2022-06-15"),  # 17
        case(2, prs_Birthdate="2004-06-15", cas_IncomingReferralDate="2022-06-15"),  # 18
        case(3, prs_Birthdate="1970-06-16", cas_IncomingReferralDate="2022-06-15"),  # 51
        case(4, prs_Birthdate="unknown date", cas_IncomingReferralDate="2022-06-15"),
        case(5, prs_Birthdate="2004-06-16", cas_IncomingReferralDate=""),
        case(6, prs_Birthdate="2023-01-01", cas_IncomingReferralDate="2022-06-15"),
    ]
    prepared, cases, report = run(table(rows))
    assert "prs_Birthdate" not in prepared.table.columns
    assert prepared.table.frame[AGE].tolist()[:5] == ["17", "18", "51", "", ""]
    by_key = cases.set_index("case_key")
    assert by_key.loc[key("C-001"), ["age_broad", "majority_status"]].tolist() == ["9-17",
                                                                                    "minor"]
    assert by_key.loc[key("C-002"), ["age_broad", "majority_status"]].tolist() == ["18-20",
                                                                                    "adult"]
    assert by_key.loc[key("C-003"), "age_broad"] == "48+"
    assert pd.isna(by_key.loc[key("C-004"), "age_broad"])
    assert pd.isna(by_key.loc[key("C-005"), "age_broad"])
    assert pd.isna(by_key.loc[key("C-005"), "year_of_registration"])
    # born after the case date: quarantined by row number and reason, like any partner's
    assert report["quarantined_by_reason"] == {"age-out-of-range": 1}
    assert key("C-006") not in by_key.index


def test_the_case_date_falls_back_through_the_standard_and_form_dates() -> None:
    rows = [
        {**case(1), "start": "2019-03-04T10:00:00.000+01:00", "_submission_time": "2020-01-01"},
        {**case(2, cas_IncomingReferralDate=""), "start": "2019-03-04T10:00:00.000+01:00",
         "_submission_time": "2020-01-01T08:00:00"},
        {**case(3, cas_IncomingReferralDate=""), "start": "",
         "_submission_time": "2020-01-01T08:00:00"},
        {**case(4, cas_IncomingReferralDate="not a date"), "start": "",
         "_submission_time": ""},
    ]
    prepared, cases, report = run(table(rows))
    assert prepared.table.frame[CASE_DATE].tolist() == ["2022-06-15", "2019-03-04",
                                                        "2020-01-01", "unparseable"]
    assert cases["year_of_registration"].tolist() == [2022, 2019, 2020]
    assert report["quarantined_by_reason"] == {"date-unparseable": 1}


def test_case_ids_come_from_the_case_number_then_form_ids_then_row_numbers() -> None:
    with_number = prepare(table([{**case(1), "_uuid": "u-1"}]))
    assert with_number.table.frame[CASE_ID].tolist() == ["C-001"]
    without = [{k: v for k, v in case(n).items() if k != "cas_CaseNumber"} for n in (1, 2)]
    by_uuid = prepare(table([{**r, "_uuid": f"u-{i}"} for i, r in enumerate(without)]))
    assert by_uuid.table.frame[CASE_ID].tolist() == ["u-0", "u-1"]
    by_row = prepare(table(without))
    assert by_row.table.frame[CASE_ID].tolist() == ["row-2", "row-3"]  # CSV records


def test_age_when_trafficked_gives_majority_at_exploitation() -> None:
    rows = [case(1, vic_AgeWhenTrafficked="16"), case(2, vic_AgeWhenTrafficked="18"),
            case(3, vic_AgeWhenTrafficked=""), case(4, vic_AgeWhenTrafficked="17,5")]
    _, cases, _ = run(table(rows))
    assert cases["majority_status_at_exploit"].tolist()[:2] == ["minor", "adult"]
    assert pd.isna(cases.loc[2, "majority_status_at_exploit"])
    assert cases.loc[3, "majority_status_at_exploit"] == "minor"


def test_other_exploitation_is_counted_by_htcds_value() -> None:
    rows = [case(1, vic_TypeOfExploitation="ChildLabour;Servitude"),
            case(2, vic_TypeOfExploitation="Surrogacy"),
            case(3, vic_TypeOfExploitation="Forced adoption;Other;ForcedLabour"),
            case(4, vic_TypeOfExploitation="Child labour"),
            case(5, vic_TypeOfExploitation="ChildLabour", con_Consent="No")]
    prepared, cases, _ = run(table(rows))
    assert prepared.other_exploitation == {"ChildLabour": 2, "Servitude": 1, "Surrogacy": 1,
                                           "ForcedAdoption": 1, "Other": 1}
    assert cases["is_other_exploit"].tolist() == [True, True, True, True]
    assert cases["is_forced_labour"].tolist() == [False, False, True, False]


def test_forced_begging_is_forced_labour_in_the_begging_sector() -> None:
    rows = [case(1, vic_TypeOfExploitation="ForcedBegging",
                 vic_ForcedLabourIndustry="T_ActivitiesOfHouseholdsAsEmployers")]
    _, cases, _ = run(table(rows))
    row = cases.iloc[0]
    assert row["is_forced_labour"] and row["type_of_labour_begging"]
    assert row["type_of_labour_domestic_work"] and not row["is_other_exploit"]


def test_xlsform_select_multiple_split_into_choice_columns_is_rebuilt() -> None:
    row = {k: v for k, v in case(1).items() if k != "vic_TypeOfExploitation"}
    row.update({"victim/vic_TypeOfExploitation/ForcedMarriage": "1",
                "victim/vic_TypeOfExploitation/OrganRemoval": "0",
                "victim/vic_TypeOfExploitation/SexualExploitation": "1"})
    prepared, cases, _ = run(table([row]))
    assert prepared.table.frame["vic_TypeOfExploitation"].tolist() == [
        "ForcedMarriage SexualExploitation"]
    flags = cases.loc[0, ["is_forced_marriage", "is_organ_removal", "is_sexual_exploit"]]
    assert flags.tolist() == [True, False, True]
    assert "victim/vic_TypeOfExploitation/ForcedMarriage" in prepared.dropped_columns


def test_countries_from_codes_names_lists_and_places() -> None:
    rows = [case(1, prs_Citizenship="NG", vic_LocationOfExploitation="Libya"),
            case(2, prs_Citizenship="Congo, Democratic Republic of the",
                 vic_LocationOfExploitation="Sabha, Libya"),
            case(3, prs_Citizenship="ER;ET", vic_LocationOfExploitation="LY"),
            case(4, prs_Citizenship="Turkey", vic_LocationOfExploitation="Holy See"),
            case(5, prs_Citizenship="ML NE", vic_LocationOfExploitation="the farm")]
    prepared, cases, _ = run(table(rows))
    assert cases["citizenship"].tolist() == ["NGA", "COD", "ERI", "TUR", "MLI"]
    assert cases["country_of_exploitation"].tolist()[:4] == ["LBY", "LBY", "LBY", "VAT"]
    assert pd.isna(cases.loc[4, "country_of_exploitation"])
    assert prepared.unmapped == {"vic_LocationOfExploitation": 1}


def test_builtin_mapping_reads_only_derived_columns() -> None:
    mapping = builtin_mapping()
    assert isinstance(mapping, Mapping)
    assert mapping.mapping_version == crosswalk().mapping_version == "htcds-2-0/1"
    assert all(c.startswith("htcds.") for c in mapping.columns)
    assert mapping.constants == {"data_source": "case_management"}
    # names and birth dates are read only for the linkage keys, from derived columns too
    assert mapping.linkage is not None
    assert mapping.linkage.name == (LINKAGE_NAME,)
    assert mapping.linkage.birth_date is not None
    assert mapping.linkage.birth_date.column == LINKAGE_BIRTH_DATE
    assert set(mapping.fields) == {
        "year_of_registration", "age_broad", "majority_status_at_exploit", "gender",
        "exploitation_type", "labour_type", "means_of_control", "sex_exploitation_type",
        "citizenship", "country_of_exploitation"}
