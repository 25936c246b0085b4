"""The HTCDS crosswalk, value by value, against the standard's own files."""

from __future__ import annotations

from pathlib import Path

import pytest

from harmonize.htcds_crosswalk import (
    CROSSWALK_PATH,
    Picklist,
    compact,
    crosswalk,
    crosswalk_rows,
    load_crosswalk,
)
from harmonize.matching import match
from schemas.definition import SCHEMA
from schemas.errors import SchemaDefinitionError
from tests.harmonize.htcds.support import (
    EXPLOITATION,
    GENDER,
    INDUSTRIES,
    METHODS,
    SEX_TYPES,
    definitions_sections,
    field_standard,
    validation_lists,
    xlsform_choices,
)

pytestmark = pytest.mark.usefixtures("htcds_files")

# the validation sheet's list titles and the XLSForm's choice lists, by HTCDS field
VALIDATION_LISTS = {
    "Gender": "prs_Gender",
    "Methods of Control": "vic_MethodsOfControl",
    "Type of Exploitation": "vic_TypeOfExploitation",
    "Forced Labour Industry": "vic_ForcedLabourIndustry",
    "Type of Sex Exploitation": "vic_TypeOfSexExploitation",
}
XLSFORM_LISTS = {
    "gender": "prs_Gender",
    "methodsofcontrol": "vic_MethodsOfControl",
    "typeofexploitation": "vic_TypeOfExploitation",
    "forcedlabourindustry": "vic_ForcedLabourIndustry",
    "typeofsexexploitation": "vic_TypeOfSexExploitation",
}


def _picklist(field: str) -> Picklist:
    return crosswalk().picklists[field]


def _codes(picklist: Picklist, text: str) -> tuple[tuple[str, str], ...]:
    value = picklist.lookup(text)
    assert value is not None, f"{picklist.field}: {text!r} maps nowhere"
    return value.codes


def test_every_value_of_every_mapped_picklist_of_the_field_standard_maps() -> None:
    standard = field_standard()
    cw = crosswalk()
    checked = 0
    for field, picklist in cw.picklists.items():
        values = standard[field].values
        assert values, f"{field} has no picklist in the field standard"
        for name, label in values:
            # the value name and its label land on the same codes
            assert _codes(picklist, name) == _codes(picklist, label), (field, name)
            checked += 1
    for name, label in standard[cw.eligibility_field].values:
        assert cw.status_of(name) is not None and cw.status_of(name) == cw.status_of(label)
        checked += 1
    assert checked == 6 + 11 + 16 + 21 + 4 + 3


def test_every_picklist_of_the_field_standard_is_mapped_or_listed_as_not_mapped() -> None:
    cw = crosswalk()
    accounted = {*cw.picklists, cw.eligibility_field, *cw.not_mapped}
    picklists = {f.name for f in field_standard().values() if f.values}
    assert picklists - accounted == set()
    assert set(cw.not_mapped) <= set(field_standard())


def test_the_validation_template_lists_map_like_the_standard() -> None:
    lists = validation_lists()
    for title, field in VALIDATION_LISTS.items():
        picklist = _picklist(field)
        for text in lists[title]:
            _codes(picklist, text)
    statuses = [crosswalk().status_of(t) for t in lists["Trafficking Status"]]
    assert statuses == ["presumed", "identified", "not_a_victim"]


def test_the_xlsform_choices_map_like_the_standard() -> None:
    choices = xlsform_choices()
    for list_name, field in XLSFORM_LISTS.items():
        picklist = _picklist(field)
        for name, label in choices[list_name]:
            assert _codes(picklist, name) == _codes(picklist, label), (list_name, name)
    cw = crosswalk()
    assert [cw.status_of(n) for n, _ in choices["traffickingstatus"]] == [
        "presumed", "identified", "not_a_victim"]
    consent = dict(choices["consent"])
    assert cw.consent_of("TRUE") is True and cw.consent_of(consent["TRUE"]) is True
    assert cw.consent_of("FALSE") is False and cw.consent_of(consent["FALSE"]) is False


def test_field_definitions_values_map() -> None:
    sections = definitions_sections()
    methods = _picklist("vic_MethodsOfControl")
    for name in sections["Methods Of Control"]:
        _codes(methods, name)
    assert _codes(methods, "MethodsOfControlRestrictsMovement") == (
        ("means_of_control", "restricts_movement"),)
    assert _codes(methods, "MethodsOfControlUsesChildren") == (
        ("means_of_control", "uses_children"),)
    industries = _picklist("vic_ForcedLabourIndustry")
    tiers = [k for k in sections if k.startswith(("Labour Industry", "Labour Subdivisions"))]
    assert len(tiers) == 3
    entries = [e for tier in tiers for e in sections[tier]]
    assert len(entries) == 21 + 40 + 8
    for entry in entries:
        _codes(industries, entry)
    assert _codes(industries, "Fishing and aquaculture") == (("labour_type", "aquafarming"),)
    cw = crosswalk()
    assert [cw.status_of(label) for label in sections["Trafficking Status"]] == [
        "presumed", "identified", "not_a_victim"]


def test_the_hand_written_expectations_agree_with_the_crosswalk() -> None:
    """A second, independent statement of the main picklists (names, labels and targets)."""
    gender = _picklist("prs_Gender")
    for name, (label, code) in GENDER.items():
        assert _codes(gender, name) == _codes(gender, label) == (("gender", code),)
    flag_code = {f.name: (f.group, f.code) for f in SCHEMA.case_fields if f.group}
    for field, table in (("vic_MethodsOfControl", METHODS), ("vic_ForcedLabourIndustry",
                         INDUSTRIES), ("vic_TypeOfSexExploitation", SEX_TYPES)):
        picklist = _picklist(field)
        for name, (label, flag) in table.items():
            assert _codes(picklist, name) == _codes(picklist, label) == (flag_code[flag],)
    exploitation = _picklist("vic_TypeOfExploitation")
    for name, (label, flag, implied) in EXPLOITATION.items():
        want = (flag_code[flag], *((flag_code[implied],) if implied else ()))
        assert _codes(exploitation, name) == _codes(exploitation, label) == want


def test_countries_of_the_templates_and_the_xlsform_resolve_to_the_same_country() -> None:
    cw = crosswalk()
    lists = validation_lists()
    codes, names = lists["Country Code"], lists["Country"]
    assert len(codes) == len(names) == 249
    for code, name in zip(codes, names, strict=True):
        iso3 = cw.country(code)
        assert iso3 is not None and cw.country(name) == iso3, (code, name)
        assert SCHEMA.vocabularies["country"].value(iso3).label == code
    for code, name in xlsform_choices()["citizenship"]:
        assert cw.country(code) == cw.country(name) == match("country", code)
    # the overrides are needed: the common matcher alone does not know these names
    for name in cw.country_overrides:
        assert match("country", name) is None


def test_columns_classify_every_field_of_the_standard_and_drop_identifiers() -> None:
    cw = crosswalk()
    standard = set(field_standard())
    known = cw.known_fields
    assert len(known) == len(set(known)), "a field is listed twice"
    assert standard - set(known) == set()
    drop = cw.drop_reason
    for name in ("prs_Salutation", "prs_FirstName", "prs_MiddleName", "prs_SecondName",
                 "prs_Title", "prs_IdentityNumber", "prs_Birthdate", "prs_Email",
                 "prs_HomePhone", "prs_MobilePhone", "prs_MailingStreet", "prs_MailingCity",
                 "prs_MailingState", "prs_MailingPostalCode", "prs_MailingCountry",
                 "prs_MailingLatitude", "prs_MailingLongitude", "cas_CaseOwner",
                 "cas_ReferringPrimaryCaseWorker", "cas_ReferredPrimaryCaseWorker",
                 "cas_IncomingReferralDetails", "cas_OutgoingReferralDetails",
                 "cas_ReasonForCaseClosure", "vic_LocationOfExploitation"):
        assert name in drop, name
    text_fields = {f.name for f in field_standard().values()
                   if f.type in ("Text", "Long Text", "Geolocation")
                   or f.type.startswith("Lookup")}
    assert text_fields - set(drop) == set(), "free text and lookups are never kept"


def test_crosswalk_rows_for_the_codebook() -> None:
    rows = crosswalk_rows()
    assert all(set(r) == {"htcds_field", "htcds_value", "htcds_label", "common_field",
                          "common_code", "note"} for r in rows)
    begging = [r for r in rows if r["htcds_value"] == "ForcedBegging"]
    assert {(r["common_field"], r["common_code"]) for r in begging} == {
        ("exploitation_type", "forced_labour"), ("labour_type", "begging")}
    child = next(r for r in rows if r["htcds_value"] == "ChildLabour")
    assert (child["common_field"], child["common_code"]) == ("exploitation_type", "other")
    assert {r["common_code"] for r in rows if r["htcds_field"] == "vic_TraffickingStatus"} == {
        "included (identified victim)", "included (presumed victim)", "excluded"}
    for r in rows:
        if r["common_field"] in SCHEMA.vocabularies and not r["common_code"].startswith("("):
            assert r["common_code"] in SCHEMA.vocabularies[r["common_field"]].codes


def test_mapping_version_comes_from_the_crosswalk_version() -> None:
    cw = crosswalk()
    assert cw.version.startswith("htcds-2.0/")
    assert cw.mapping_version == cw.version.replace(".", "-")


def test_a_code_outside_the_common_schema_is_refused(tmp_path: Path) -> None:
    text = CROSSWALK_PATH.read_text(encoding="utf-8")
    bad = tmp_path / "htcds.yaml"
    bad.write_text(text.replace("code: organ_removal", "code: organ_harvesting"), "utf-8")
    with pytest.raises(SchemaDefinitionError, match="organ_harvesting"):
        load_crosswalk(bad)


def test_two_spellings_of_one_value_cannot_map_differently(tmp_path: Path) -> None:
    text = CROSSWALK_PATH.read_text(encoding="utf-8")
    bad = tmp_path / "htcds.yaml"
    bad.write_text(text.replace("{name: Surrogacy, label: Surrogacy,",
                                "{name: Surrogacy, label: Forced marriage,"), "utf-8")
    with pytest.raises(SchemaDefinitionError, match="read the same"):
        load_crosswalk(bad)


@pytest.mark.parametrize(("cell", "names", "missed"), [
    ("Agriculture, forestry and fishing", ["A_AgricultureForestryAndFishing"], 0),
    ("Water supply; sewerage, waste management and remediation;Construction",
     ["E_WaterSupplySewerageWasteManagement", "F_Construction"], 0),
    ("A_AgricultureForestryAndFishing F_Construction",
     ["A_AgricultureForestryAndFishing", "F_Construction"], 0),
    ("manufacturing | CONSTRUCTION", ["C_Manufacturing", "F_Construction"], 0),
    ("Construction; something typed", ["F_Construction"], 1),
    ("", [], 0),
    ("-99", [], 0),
])
def test_multi_select_cells_split_without_breaking_labels(cell: str, names: list[str],
                                                           missed: int) -> None:
    values, unknown = _picklist("vic_ForcedLabourIndustry").split(cell)
    assert [v.name for v in values] == names
    assert unknown == missed


def test_compact_keys_ignore_case_spacing_and_punctuation() -> None:
    assert compact("ForcedBegging") == compact("Forced begging") == compact(" forced-BEGGING ")
