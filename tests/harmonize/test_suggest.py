"""`mapping suggest`: drafts that parse, cover the demo extracts, and never map identifiers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ctcollab.demodata import DemoExtract, generate
from harmonize.harmonizer import harmonize
from harmonize.mapping import load_mapping, parse_mapping
from harmonize.suggest import draft_yaml, suggest
from ingest.readers import read_table
from ingest.table import RawTable


@pytest.fixture(scope="module")
def extracts(tmp_path_factory: pytest.TempPathFactory) -> list[DemoExtract]:
    return generate(tmp_path_factory.mktemp("demo"), records=400, seed=3)


def _table(e: DemoExtract) -> RawTable:
    return read_table(e.path.read_bytes(), e.path.name, sheet=e.sheet)


def test_drafts_parse_and_cover_like_the_hand_written_mappings(
        extracts: list[DemoExtract]) -> None:
    for e in extracts:
        table = _table(e)
        draft = parse_mapping(draft_yaml(suggest(table), name=e.path.stem), e.path.name)
        hand = load_mapping(e.mapping)
        secret = b"x" * 32
        ours = harmonize(table.frame, table.source_rows, draft, org_id=1, secret=secret)
        theirs = harmonize(table.frame, table.source_rows, hand, org_id=1, secret=secret)
        assert len(ours.cases) == len(theirs.cases), e.org_slug
        # The draft fills at least the common-schema fields the hand-written mapping fills.
        assert set(hand.fields) - set(draft.fields) <= {"majority_status"}, e.org_slug
        for field in ("gender", "citizenship", "country_of_exploitation"):
            assert (ours.cases[field].astype(object).fillna("")
                    == theirs.cases[field].astype(object).fillna("")).all(), (e.org_slug, field)


def test_identifier_columns_are_never_mapped(extracts: list[DemoExtract]) -> None:
    french = next(e for e in extracts if e.path.suffix == ".csv" and "espoir" in e.org_slug)
    guesses = {g.column: g for g in suggest(_table(french))}
    assert guesses["Nom"].target is None and guesses["Nom"].dropped == "person_name"
    assert guesses["Téléphone"].target is None


def test_unseen_headers_are_matched_by_their_values() -> None:
    frame = pd.DataFrame({
        "col_a": [f"X{i}" for i in range(40)],
        "col_b": ["Femme", "Homme", "Inconnu", "Femme"] * 10,
        "col_c": ["Libye", "Niger", "Tchad", "Mali"] * 10,
        "col_d": ["12/03/2021", "25/01/2022", "01/02/2020", "30/11/2019"] * 10,
    }, dtype=object)
    table = RawTable(frame=frame, source_rows=tuple(range(2, 42)), format="csv",
                     encoding="utf-8", delimiter=";", sheet=None)
    guesses = {g.column: g for g in suggest(table)}
    assert guesses["col_a"].target == "case_id"
    assert guesses["col_b"].target == "gender"
    assert guesses["col_c"].target in ("citizenship", "country_of_exploitation")
    assert guesses["col_d"].target == "year_of_registration"
    assert guesses["col_d"].rule == {"date_format": "%d/%m/%Y"}
    text = draft_yaml(list(guesses.values()), name="unseen")
    assert "TODO" in text  # generic names: unsure, and says so
    parse_mapping(text)


def test_a_birth_date_column_only_ever_becomes_an_age(tmp_path: Path) -> None:
    frame = pd.DataFrame({
        "Case ID": [f"C{i}" for i in range(30)],
        "Date of birth": ["01/02/1990", "15/07/2004", "30/12/1985"] * 10,
        "Registration date": ["01/02/2021", "15/07/2022", "30/12/2020"] * 10,
    }, dtype=object)
    table = RawTable(frame=frame, source_rows=tuple(range(2, 32)), format="csv",
                     encoding="utf-8", delimiter=",", sheet=None)
    guesses = {g.column: g for g in suggest(table)}
    assert guesses["Date of birth"].target == "age_broad"
    assert guesses["Date of birth"].rule["kind"] == "birth_date"
    assert guesses["Registration date"].target == "year_of_registration"


def test_drafts_propose_the_linkage_of_the_demo_mappings(extracts: list[DemoExtract]) -> None:
    """On by default: every demo extract's draft links persons exactly as its hand mapping."""
    for e in extracts:
        table = _table(e)
        text = draft_yaml(suggest(table), name=e.path.stem)
        draft = parse_mapping(text, e.path.name)
        hand = load_mapping(e.mapping)
        assert draft.linkage is not None and hand.linkage is not None, e.org_slug
        assert set(draft.linkage.name) == set(hand.linkage.name), e.org_slug
        secret = b"x" * 32
        ours = harmonize(table.frame, table.source_rows, draft, org_id=1, secret=secret).cases
        theirs = harmonize(table.frame, table.source_rows, hand, org_id=1, secret=secret).cases
        for key in ("linkage_key", "linkage_key_year"):
            assert ours[key].notna().mean() > 0.8, (e.org_slug, key)
            assert (ours[key].fillna("") == theirs[key].fillna("")).all(), (e.org_slug, key)
        assert "never stored" in text


def _headers_table(columns: dict[str, list[str]]) -> RawTable:
    n = len(next(iter(columns.values())))
    frame = pd.DataFrame({"Case ID": [f"C{i}" for i in range(n)], **columns}, dtype=object)
    return RawTable(frame=frame, source_rows=tuple(range(2, 2 + n)), format="csv",
                    encoding="utf-8", delimiter=",", sheet=None)


NAMES = ["Aminata", "Fatou", "Awa", "Mariam"] * 5
SURNAMES = ["Diallo", "Sow", "Traoré", "Keita"] * 5
BIRTHS = ["12/03/1999", "01/01/2001", "30/05/1985", "07/07/1990"] * 5
YEARS = ["1999", "2001", "1985", "1990"] * 5


@pytest.mark.parametrize(("columns", "name", "birth_date", "birth_year"), [
    ({"Nom": SURNAMES, "Prénom": NAMES, "Date de naissance": BIRTHS},
     ["Nom", "Prénom"], "Date de naissance", None),
    ({"Nombre": NAMES, "Apellidos": SURNAMES, "Fecha de nacimiento": BIRTHS,
      "Año de nacimiento": YEARS},
     ["Nombre", "Apellidos"], "Fecha de nacimiento", "Año de nacimiento"),
    ({"Nome": NAMES, "Sobrenome": SURNAMES, "Ano de nascimento": YEARS},
     ["Nome", "Sobrenome"], None, "Ano de nascimento"),
    ({"الاسم": NAMES, "اسم العائلة": SURNAMES, "تاريخ الميلاد": BIRTHS},
     ["الاسم", "اسم العائلة"], "تاريخ الميلاد", None),
    ({"Ism": NAMES, "Sanat al milad": YEARS}, ["Ism"], None, "Sanat al milad"),
    ({"First name": NAMES, "Surname": SURNAMES, "Year of birth": YEARS,
      "Father's name": SURNAMES, "Recruiter name": NAMES},
     ["First name", "Surname"], None, "Year of birth"),
])
def test_linkage_columns_are_found_in_five_languages(
        columns: dict[str, list[str]], name: list[str], birth_date: str | None,
        birth_year: str | None) -> None:
    mapping = parse_mapping(draft_yaml(suggest(_headers_table(columns)), name="x"))
    assert mapping.linkage is not None
    assert list(mapping.linkage.name) == name
    assert (mapping.linkage.birth_date.column if mapping.linkage.birth_date else None) == (
        birth_date)
    assert mapping.linkage.birth_year == birth_year
    if birth_date:
        assert mapping.linkage.birth_date is not None
        assert mapping.linkage.birth_date.date_format == "%d/%m/%Y"


@pytest.mark.parametrize("columns", [
    {"Nom": SURNAMES, "Sexe": ["Femme"] * 20},  # a name alone links nobody
    {"Date de naissance": BIRTHS, "Année de naissance": YEARS},  # a birth date alone neither
    {"Nom du père": SURNAMES, "Date de naissance": BIRTHS},  # someone else's name
    {"Nom": SURNAMES, "Date de naissance": ["inconnue"] * 20},  # no readable birth date
])
def test_no_linkage_without_a_name_and_a_readable_birth(columns: dict[str, list[str]]) -> None:
    text = draft_yaml(suggest(_headers_table(columns)), name="x")
    assert parse_mapping(text).linkage is None
    assert "linkage:" not in text
