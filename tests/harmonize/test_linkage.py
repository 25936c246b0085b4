"""Linkage keys: names, dates and years of birth read alike everywhere; keys from the mapping's
`linkage` block (and its old list form); an unreadable birth date costs the key, not the case."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harmonize.harmonizer import harmonize, linkage_key, linkage_key_year, opaque_linkage_key
from harmonize.linkage import name_words, normalise_name, parse_birth_date, parse_birth_year
from harmonize.mapping import parse_mapping
from harmonize.matching import is_not_supplied

SECRET = b"linkage-secret-0123456789abcdef!"
WORD = st.text(alphabet=st.characters(categories=["L"]), min_size=1, max_size=8)
NAMES = st.lists(WORD, min_size=1, max_size=4)


def _accented(word: str) -> str:
    return unicodedata.normalize("NFC", "".join(ch + "\u0301" if ch.isalpha() else ch
                                                for ch in word))


@given(NAMES, st.randoms())
def test_a_name_reads_the_same_in_any_case_order_accent_or_spacing(words: list[str],
                                                                   rnd: object) -> None:
    plain = normalise_name([" ".join(words)])
    shuffled = list(words)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    variants = [
        [" ".join(shuffled)],
        ["  " + "-".join(w.upper() for w in words) + ". "],
        [", ".join(_accented(w) for w in words)],
    ]
    # a cell holding only "NULL" or "Unknown" is blank, not a word of the name
    if not any(is_not_supplied(w) or normalise_name([w]) is None for w in words):
        variants.append(words)  # one word per column
    for variant in variants:
        assert normalise_name(variant) == plain, variant


@given(st.lists(st.text(max_size=12), max_size=4))
def test_normalising_is_idempotent_and_never_empty(parts: list[str]) -> None:
    once = normalise_name(parts)
    if once is None:
        return
    assert once and once == once.strip()
    assert normalise_name([once]) == once
    assert name_words([once]) == tuple(once.split(" "))


@given(NAMES, NAMES)
def test_different_words_make_different_names(a: list[str], b: list[str]) -> None:
    one, other = normalise_name([" ".join(a)]), normalise_name([" ".join(b)])
    if name_words(a) != name_words(b):
        assert one != other or one is None


@pytest.mark.parametrize("placeholder", ["", "  ", "-", "N/A", "Inconnu", "UNKNOWN", "x",
                                         "Sin nombre", "مجهول", "...", "?"])
def test_placeholders_are_no_name(placeholder: str) -> None:
    assert normalise_name([placeholder]) is None
    assert normalise_name([placeholder, placeholder]) is None


def test_arabic_and_latin_names_keep_their_letters() -> None:
    assert normalise_name(["فاطمة الزهراء"]) == " ".join(sorted(["فاطمة", "الزهراء"]))
    assert normalise_name(["Aïcha", "TRAORÉ"]) == normalise_name(["traore aicha"])
    assert normalise_name(["Ali", ""]) == "ali"  # a blank part is left out, not a conflict


DATES = st.dates(min_value=date(1900, 1, 1), max_value=date(2024, 12, 31))


@given(DATES)
def test_birth_dates_read_in_every_format_a_partner_writes(day: date) -> None:
    for text, fmt in ((day.strftime("%d/%m/%Y"), "%d/%m/%Y"), (day.isoformat(), "iso"),
                      (day.isoformat(), None), (f" {day.strftime('%m-%d-%Y')} ", "%m-%d-%Y"),
                      (f"{day.isoformat()} 00:00:00", "excel"),
                      (str((day - date(1899, 12, 30)).days), "excel")):
        assert parse_birth_date(text, fmt) == day, (text, fmt)


@given(st.text(max_size=12))
def test_a_birth_date_parser_never_raises_and_stays_plausible(text: str) -> None:
    for fmt in (None, "%d/%m/%Y", "iso", "excel"):
        parsed = parse_birth_date(text, fmt)
        assert parsed is None or date(1900, 1, 1) <= parsed <= datetime.now(UTC).date()
        year = parse_birth_year(text)
        assert year is None or 1900 <= year <= datetime.now(UTC).year


@pytest.mark.parametrize(("text", "year"), [
    ("1990", 1990), (" 1990 ", 1990), ("1990.0", 1990), ("12/03/1990", 1990),
    ("1990-03-12", 1990), ("1899", None), ("2999", None), ("", None), ("inconnu", None),
    ("abc", None), ("31/02/1990", None)])
def test_birth_years(text: str, year: int | None) -> None:
    assert parse_birth_year(text) == year


@pytest.mark.parametrize("text", ["31/02/1999", "01/01/1850", "01/01/2999", "bientôt", "?"])
def test_implausible_birth_dates_are_unreadable(text: str) -> None:
    assert parse_birth_date(text, "%d/%m/%Y") is None


def test_keys_need_every_part_and_separate_their_parts() -> None:
    born = date(1999, 3, 12)
    assert linkage_key(SECRET, "aminata diallo", born) is not None
    assert linkage_key(SECRET, None, born) is None
    assert linkage_key(SECRET, "aminata diallo", None) is None
    assert linkage_key_year(SECRET, "aminata diallo", 1999, "MLI") is not None
    for missing in ((None, 1999, "MLI"), ("a", None, "MLI"), ("a", 1999, None),
                    ("a", 1999, "unknown")):
        assert linkage_key_year(SECRET, *missing) is None
    # the two keys, and the old opaque key, never coincide by construction
    keys = {linkage_key(SECRET, "a", born), linkage_key_year(SECRET, "a", 1999, "MLI"),
            opaque_linkage_key(SECRET, ["a", "1999-03-12"])}
    assert len(keys) == 3
    assert linkage_key(b"another secret", "aminata diallo", born) != linkage_key(
        SECRET, "aminata diallo", born)


MAPPING = """\
mapping_version: "ngo/1"
case_id: "ID"
fields:
  year_of_registration: {column: "Registered"}
  gender: {column: "Sex"}
  citizenship: {column: "Nationality"}
"""
STRUCTURED = MAPPING + """\
linkage:
  name: ["Surname", "First name"]
  birth_date: {column: "Born", date_format: "%d/%m/%Y"}
  birth_year: "Year born"
"""


def _frame(rows: list[dict[str, str]]) -> pd.DataFrame:
    columns = ["ID", "Registered", "Sex", "Nationality", "Surname", "First name", "Born",
               "Year born"]
    return pd.DataFrame([{c: r.get(c, "") for c in columns} for r in rows], dtype=object)


def _keys(rows: list[dict[str, str]], mapping: str = STRUCTURED) -> pd.DataFrame:
    result = harmonize(_frame(rows), list(range(2, 2 + len(rows))), parse_mapping(mapping),
                       org_id=1, secret=SECRET)
    assert result.quarantine == []  # linkage never costs a case
    cases = result.cases.astype(object).where(result.cases.notna(), None)
    return cases


def test_the_structured_block_gives_both_keys() -> None:
    base = {"Registered": "2021", "Sex": "F", "Nationality": "Mali"}
    cases = _keys([
        {"ID": "1", "Surname": "Diallo", "First name": "Aminata", "Born": "12/03/1999", **base},
        {"ID": "2", "Surname": "AMINATA", "First name": "diallo", "Born": "12/03/1999", **base},
        {"ID": "3", "Surname": "Diallo", "First name": "Aminata", "Born": "31/02/1999",
         "Year born": "1999", **base},
        {"ID": "4", "Surname": "Diallo", "First name": "Aminata", "Born": "pas connue", **base},
        {"ID": "5", "Surname": "", "First name": "", "Born": "12/03/1999", **base},
        {"ID": "6", "Surname": "Diallo", "First name": "Aminata", "Born": "12/03/1999",
         "Registered": "2021", "Sex": "F", "Nationality": "Inconnue"},
    ])
    name = normalise_name(["Aminata Diallo"])
    full = linkage_key(SECRET, name, date(1999, 3, 12))
    year = linkage_key_year(SECRET, name, 1999, "MLI")
    assert cases["linkage_key"].tolist() == [full, full, None, None, None, full]
    # the year of a readable birth date, else the stated year; no citizenship, no year key
    assert cases["linkage_key_year"].tolist() == [year, year, year, None, None, None]
    assert len(cases) == 6  # an unreadable birth date or a missing name costs the key only
    for column in cases.columns:
        assert "Diallo" not in str(cases[column].tolist())


def test_the_old_list_form_still_gives_its_opaque_key() -> None:
    old = MAPPING + 'linkage: ["Surname", "Born"]\n'
    cases = _keys([{"ID": "1", "Registered": "2021", "Surname": "Diallo", "Born": "12/03/1999"},
                   {"ID": "2", "Registered": "2021", "Surname": "Diallo", "Born": ""}], old)
    assert cases["linkage_key"].tolist() == [
        opaque_linkage_key(SECRET, ["Diallo", "12/03/1999"]), None]
    assert "linkage_key_year" not in cases.columns


def test_without_linkage_there_are_no_keys() -> None:
    cases = _keys([{"ID": "1", "Registered": "2021", "Surname": "Diallo"}], MAPPING)
    assert "linkage_key" not in cases.columns


def test_an_ambiguous_birth_date_column_is_noted_without_values() -> None:
    mapping = MAPPING + 'linkage: {name: ["Surname"], birth_date: "Born"}\n'
    rows = [{"ID": "1", "Registered": "2021", "Surname": "Diallo", "Born": "03/04/1999"}]
    result = harmonize(_frame(rows), [2], parse_mapping(mapping), org_id=1, secret=SECRET)
    assert result.cases["linkage_key"].tolist() == [
        linkage_key(SECRET, "diallo", date(1999, 4, 3))]
    assert any("day from month" in n for n in result.notes)
    assert not any("1999" in n or "Diallo" in n for n in result.notes)


@pytest.mark.parametrize(("block", "words"), [
    ("linkage: {name: [Surname]}", "birth_date or birth_year"),
    ("linkage: {birth_date: Born}", "name"),
    ("linkage: {name: [Surname], birth_date: Born, columns: [X]}", "not both"),
    ("linkage: {name: [Surname], birth_date: {column: Born, format: x}}", "format"),
    ("linkage: {name: [Sex], birth_year: Y}", "read only for the linkage key"),
])
def test_a_bad_linkage_block_is_refused_with_its_line(block: str, words: str) -> None:
    from harmonize.errors import MappingInvalid

    with pytest.raises(MappingInvalid) as err:
        parse_mapping(MAPPING + block + "\n", "m.yaml")
    assert "m.yaml line" in str(err.value) and words in str(err.value)


def test_the_linkage_columns_are_read_and_must_exist() -> None:
    from harmonize.errors import MappingDoesNotFit

    m = parse_mapping(STRUCTURED)
    assert {"Surname", "First name", "Born", "Year born"} <= set(m.columns)
    with pytest.raises(MappingDoesNotFit):
        harmonize(_frame([{"ID": "1"}]).drop(columns=["Born"]), [2], m, org_id=1,
                  secret=SECRET)
