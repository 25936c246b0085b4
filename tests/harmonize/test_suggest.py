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
