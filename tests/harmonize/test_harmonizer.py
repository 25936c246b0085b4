"""The harmonizer: values to codes, dates to years, ages to bands, multi-select to flags."""

from __future__ import annotations

import hashlib
import hmac
import json

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harmonize.errors import MappingDoesNotFit
from harmonize.harmonizer import _parse_age, _tokens, case_key, harmonize
from harmonize.mapping import parse_mapping
from schemas.definition import normalise_token

SECRET = b"k" * 32
MAPPING = parse_mapping("""
mapping_version: "test-org/1"
case_id: "N° dossier"
constants: {data_source: case_management}
fields:
  year_of_registration: {column: "Date", date_format: "%d/%m/%Y"}
  gender: {column: "Sexe"}
  age_broad: {column: "Âge", kind: years}
  citizenship: {column: "Nationalité"}
  country_of_exploitation: {column: "Pays"}
  exploitation_type: {column: "Type", separator: ";"}
  means_of_control: {column: "Moyens", separator: ";"}
""")


def _frame(rows: list[dict[str, str]]) -> pd.DataFrame:
    cols = ["N° dossier", "Date", "Sexe", "Âge", "Nationalité", "Pays", "Type", "Moyens"]
    return pd.DataFrame([{c: r.get(c, "") for c in cols} for r in rows], dtype=object)


def _run(rows: list[dict[str, str]]) -> tuple[pd.DataFrame, dict[str, object]]:
    h = harmonize(_frame(rows), list(range(2, len(rows) + 2)), MAPPING, org_id=7, secret=SECRET)
    return h.cases, h.report()


def test_french_labels_and_countries_become_codes() -> None:
    cases, _ = _run([{"N° dossier": "A1", "Date": "12/03/2021", "Sexe": "Femme", "Âge": "17,5",
                      "Nationalité": "Côte d’Ivoire", "Pays": "Libye",
                      "Type": "Travail forcé; Exploitation sexuelle", "Moyens": "Menaces"}])
    row = cases.iloc[0]
    assert row["year_of_registration"] == 2021
    assert row["gender"] == "female"
    assert row["age_broad"] == "9-17" and row["majority_status"] == "minor"
    assert row["citizenship"] == "CIV" and row["country_of_exploitation"] == "LBY"
    assert row["is_forced_labour"] and row["is_sexual_exploit"] and row["is_sex_and_labour"]
    assert not row["is_forced_marriage"]
    assert row["means_of_control_threats"] and not row["means_of_control_debt_bondage"]
    assert row["data_source"] == "case_management"


def test_unknown_and_not_supplied_stay_distinct() -> None:
    cases, report = _run([
        {"N° dossier": "A1", "Date": "01/01/2020", "Sexe": "Inconnu", "Type": "Travail forcé"},
        {"N° dossier": "A2", "Date": "01/01/2020", "Sexe": "", "Type": ""},
        {"N° dossier": "A3", "Date": "01/01/2020", "Sexe": "N/A", "Type": "-99"},
    ])
    assert cases["gender"].astype(object).tolist()[0] == "unknown"
    assert cases["gender"].isna().tolist() == [False, True, True]
    # A blank multi-select says nothing: its flags are missing, not "no".
    assert cases["is_forced_labour"].isna().tolist() == [False, True, True]
    fields = report["fields"]
    assert isinstance(fields, dict)
    assert fields["gender"]["unknown_pct"] == pytest.approx(33.3)
    assert fields["gender"]["not_supplied_pct"] == pytest.approx(66.7)


def test_forced_begging_implies_forced_labour_in_begging() -> None:
    cases, _ = _run([{"N° dossier": "A1", "Date": "01/01/2020", "Type": "Mendicité forcée"}])
    assert cases.loc[0, "is_forced_labour"] and cases.loc[0, "type_of_labour_begging"]


def test_bad_rows_are_quarantined_by_row_and_reason_without_values() -> None:
    sentinel = "ZZSENTINEL"
    cases, report = _run([
        {"N° dossier": "A1", "Date": "01/01/2020", "Sexe": "F"},
        {"N° dossier": "", "Date": "01/01/2020"},
        {"N° dossier": "A1", "Date": "01/01/2021"},
        {"N° dossier": "A4", "Date": sentinel},
        {"N° dossier": "A5", "Date": "01/01/1990"},
        {"N° dossier": "A6", "Date": "01/01/2020", "Âge": "230"},
        {"N° dossier": "A7", "Date": "01/01/2020", "Âge": sentinel + "x"},
    ])
    assert len(cases) == 1
    assert report["quarantined_by_reason"] == {
        "age-out-of-range": 1, "age-unparseable": 1, "case-id-duplicate": 1,
        "case-id-missing": 1, "date-unparseable": 1, "year-out-of-range": 1}
    rows = {q["row"]: q["reason"] for q in report["quarantine"]}  # type: ignore[union-attr]
    assert rows[3] == "case-id-missing" and rows[5] == "date-unparseable"
    assert sentinel not in json.dumps(report)


def test_case_keys_are_keyed_hashes_never_the_local_id() -> None:
    cases, _ = _run([{"N° dossier": "LOCAL-123", "Date": "01/01/2020"}])
    key = cases.loc[0, "case_key"]
    assert key == case_key(SECRET, 7, "LOCAL-123") != case_key(SECRET, 8, "LOCAL-123")
    assert "LOCAL-123" not in cases.to_csv()
    assert len(key) == 64


def test_unmapped_vocabulary_values_are_reported_with_counts() -> None:
    _, report = _run([{"N° dossier": f"A{i}", "Date": "01/01/2020", "Sexe": "Xyz"}
                      for i in range(3)])
    assert report["fields"]["gender"]["unmapped_values"] == {"Xyz": 3}  # type: ignore[index]


def test_missing_columns_reject_the_file_naming_them() -> None:
    with pytest.raises(MappingDoesNotFit) as err:
        harmonize(pd.DataFrame({"N° dossier": ["1"]}), [2], MAPPING, org_id=1, secret=SECRET)
    assert "'Sexe'" in str(err.value)


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters=";|[", min_codepoint=32),
                        min_size=1).filter(lambda s: normalise_token(s) != ""),
                min_size=1, max_size=6))
def test_tokens_split_what_was_joined(items: list[str]) -> None:
    assert _tokens("; ".join(items), ";") == [i.strip() for i in items]
    assert _tokens(json.dumps(items), "json") == items


@given(st.floats(min_value=0, max_value=120, allow_nan=False))
def test_ages_parse_with_decimal_comma_or_point(age: float) -> None:
    text = f"{age:.1f}"
    assert _parse_age(text) == pytest.approx(float(text))
    assert _parse_age(text.replace(".", ",")) == pytest.approx(float(text))


@given(st.floats(min_value=120.1, max_value=1e6, allow_nan=False))
def test_impossible_ages_are_out_of_range(age: float) -> None:
    assert _parse_age(f"{age:.1f}") == "age-out-of-range"


@given(st.lists(st.text(max_size=30), max_size=20), st.binary(min_size=1, max_size=100))
def test_batched_case_keys_are_the_standard_hmac(ids: list[str], secret: bytes) -> None:
    from harmonize.harmonizer import case_keys

    expected = [hmac.new(secret, f"3\x1f{i.strip()}".encode(), hashlib.sha256).hexdigest()
                for i in ids]
    assert case_keys(secret, 3, ids) == expected
    assert [case_key(secret, 3, i) for i in ids] == expected


# Pieces of NOT_SUPPLIED tokens, separators of normalise_token and other text, so that
# generated cells often fold to a token, or nearly.
_NEAR_TOKENS = st.lists(st.sampled_from([
    "n", "a", "na", "N", "A", "nan", "NULL", "none", "non", "renseigne", "renseignee",
    "Not", "Recorded", "s", "o", "sans", "objet", "99", "9", "-", "--", "/", ".", " ", "_",
    "\t", "\x1c", "\x1f", "(", ")", "'", ",", ";", ":", "é", "–", "’", "\u00a0", "x", "0",
]), max_size=6).map("".join)


@given(st.lists(st.one_of(_NEAR_TOKENS, st.text(max_size=12)), max_size=40))
def test_vectorised_not_supplied_is_is_not_supplied(values: list[str]) -> None:
    """The regular expression over ASCII cells gives normalise_token's answer."""
    import numpy as np

    from harmonize import harmonizer
    from harmonize.matching import is_not_supplied

    array = np.array(values, dtype=object)
    original = harmonizer._VECTORISE_FROM
    harmonizer._VECTORISE_FROM = 0
    try:
        got = harmonizer._not_supplied_values(array)
    finally:
        harmonizer._VECTORISE_FROM = original
    assert got.tolist() == [is_not_supplied(v) for v in values]


@given(st.lists(st.sampled_from(["a", "b", "c", " a", "", "N/A"]), max_size=30))
def test_repeats_from_codes_are_duplicated(values: list[str]) -> None:
    from harmonize.harmonizer import _repeats

    codes, _ = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)
    expected = pd.Series(values, dtype=object).duplicated(keep="first").tolist()
    assert _repeats(codes).tolist() == expected


@given(st.lists(st.text(max_size=30), max_size=20), st.binary(min_size=1, max_size=100))
def test_case_key_column_is_the_list_of_case_keys(ids: list[str], secret: bytes) -> None:
    from harmonize.harmonizer import _case_key_array, case_keys

    column = _case_key_array(secret, 5, ids)
    assert column.dtype == "string"
    assert list(column) == case_keys(secret, 5, ids)


def test_ages_from_birth_dates_need_a_registration_date() -> None:
    """Without a registration date there is no age to compute (this used to raise)."""
    mapping = parse_mapping("""
mapping_version: "test-org/1"
case_id: "id"
fields:
  age_broad: {column: "born", kind: birth_date, date_format: "%d/%m/%Y"}
""")
    frame = pd.DataFrame({"id": ["A", "B"], "born": ["12/03/2000", ""]}, dtype=object)
    h = harmonize(frame, [2, 3], mapping, org_id=1, secret=SECRET)
    assert h.cases["age_broad"].isna().all() and h.cases["majority_status"].isna().all()
    assert not h.quarantine


@given(st.lists(st.one_of(st.text(max_size=8), st.sampled_from([" a ", "\x1c\u3000b\x85"])),
                max_size=20))
def test_stripping_ids_is_pandas_strip(values: list[str]) -> None:
    from harmonize.harmonizer import _strip

    col = pd.Series(values, dtype=object)
    pd.testing.assert_series_equal(_strip(col), col.str.strip())
    mixed = pd.Series([*values, None, float("nan")], dtype=object)
    pd.testing.assert_series_equal(_strip(mixed), mixed.str.strip())
