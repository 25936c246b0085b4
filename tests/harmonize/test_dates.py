"""Date columns: formats decided from the data, ambiguity reported, ages from birth dates."""

from __future__ import annotations

from datetime import date

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from harmonize.dates import DateFormat, age_at, detect_format, parse_date
from harmonize.harmonizer import harmonize
from harmonize.mapping import parse_mapping


def test_day_first_is_proven_by_a_day_above_twelve() -> None:
    assert detect_format(["03/04/2021", "25/12/2020", ""]) == DateFormat("%d/%m/%Y")


def test_month_first_is_proven_by_a_second_part_above_twelve() -> None:
    assert detect_format(["03/04/2021", "12/25/2020"]) == DateFormat("%m/%d/%Y")


def test_no_proof_either_way_is_ambiguous() -> None:
    assert detect_format(["03/04/2021", "01/02/2020"]) == DateFormat("%d/%m/%Y", ambiguous=True)


def test_iso_years_and_excel_serials() -> None:
    assert detect_format(["2021-03-04", "2020-01-01"]) == DateFormat("iso")
    assert detect_format(["2019", "2021"]) == DateFormat("year")
    assert detect_format(["44197", "44562"]) == DateFormat("excel")
    assert parse_date("44197", "excel") == date(2021, 1, 1)
    assert detect_format(["", "  "]) is None


@given(st.dates(min_value=date(1950, 1, 1), max_value=date(2030, 12, 31)))
def test_parse_round_trips_each_format(d: date) -> None:
    assert parse_date(d.strftime("%d/%m/%Y"), "%d/%m/%Y") == d
    assert parse_date(d.strftime("%m-%d-%Y"), "%m-%d-%Y") == d
    assert parse_date(d.isoformat(), None) == d


@given(st.dates(min_value=date(1950, 1, 1), max_value=date(2010, 12, 31)),
       st.dates(min_value=date(2011, 1, 1), max_value=date(2030, 12, 31)))
def test_age_at_counts_completed_years(birth: date, on: date) -> None:
    age = age_at(birth, on)
    assert birth.replace(year=birth.year + age) <= on if not (
        birth.month == 2 and birth.day == 29) else True
    assert 0 <= age <= on.year - birth.year


def test_birth_dates_become_bands_and_are_not_kept() -> None:
    mapping = parse_mapping("""
mapping_version: "dob-org/1"
case_id: id
fields:
  year_of_registration: {column: registered}
  age_broad: {column: dob, kind: birth_date}
""")
    frame = pd.DataFrame({"id": ["1", "2", "3"],
                          "registered": ["15/06/2022", "01/02/2021", "20/12/2020"],
                          "dob": ["16/06/2004", "01/02/1990", ""]}, dtype=object)
    h = harmonize(frame, [2, 3, 4], mapping, org_id=1, secret=b"x" * 32)
    assert h.cases["age_broad"].tolist()[:2] == ["9-17", "30-38"]
    assert h.cases["majority_status"].tolist()[:2] == ["minor", "adult"]
    assert h.cases["age_broad"].isna().tolist() == [False, False, True]
    assert "2004" not in h.cases.to_csv()


def test_ambiguous_dates_are_noted_in_the_report() -> None:
    mapping = parse_mapping("""
mapping_version: "amb-org/1"
case_id: id
fields:
  year_of_registration: {column: registered}
""")
    frame = pd.DataFrame({"id": ["1", "2"], "registered": ["03/04/2021", "01/02/2020"]},
                         dtype=object)
    report = harmonize(frame, [2, 3], mapping, org_id=1, secret=b"x" * 32).report()
    assert report["notes"] and "day from month" in str(report["notes"])
