"""Fixtures for pipeline tests: settings on a real database of each kind and a real home."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from ctcollab import pipeline
from ctcollab.settings import Settings, load_settings

FRENCH_MAPPING = """\
mapping_version: "ong-test/1"
case_id: "N° dossier"
constants: {data_source: case_management}
fields:
  year_of_registration: {column: "Date d'enregistrement", date_format: "%d/%m/%Y"}
  gender: {column: "Sexe"}
  age_broad: {column: "Âge", kind: years}
  citizenship: {column: "Nationalité"}
  country_of_exploitation: {column: "Pays d'exploitation"}
  exploitation_type: {column: "Type d'exploitation", separator: ";"}
"""
FRENCH_HEADER = ("N° dossier;Date d'enregistrement;Sexe;Âge;Nationalité;Pays d'exploitation;"
                 "Type d'exploitation;Nom;Téléphone")


def french_csv(rows: list[tuple[str, ...]]) -> bytes:
    """A partner extract as French NGOs send it: ';', CRLF, Windows-1252."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(FRENCH_HEADER.split(";"))
    writer.writerows(rows)
    return buffer.getvalue().encode("cp1252")


FRENCH_ROWS = [
    ("D-001", "12/03/2021", "Femme", "17,5", "Nigéria", "Libye",
     "Travail forcé; Exploitation sexuelle", "Aminata Diallo", "+218 91 234 5678"),
    ("D-002", "02/11/2022", "Homme", "34", "Mali", "Libye", "Travail forcé", "Moussa Keita",
     "+223 76 12 34 56"),
    ("D-003", "15/06/2022", "Inconnu", "", "Tchad", "Niger", "Mariage forcé", "Fatou Sow", ""),
    ("D-004", "pas de date", "Femme", "22", "Niger", "Algérie", "Exploitation sexuelle",
     "Awa Traoré", "0612345678"),
]
PII = ("Aminata Diallo", "Moussa Keita", "Fatou Sow", "Awa Traoré", "+218 91 234 5678",
       "D-001", "D-002", "D-003")


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return load_settings(home=tmp_path / "home", database_url=db_url)


@pytest.fixture
def ctx(settings: Settings) -> pipeline.Context:
    return pipeline.init(settings)


@pytest.fixture
def french_file(tmp_path: Path) -> tuple[Path, Path]:
    data = tmp_path / "registre.csv"
    data.write_bytes(french_csv(FRENCH_ROWS))
    mapping = tmp_path / "ong-test.yaml"
    mapping.write_text(FRENCH_MAPPING, encoding="utf-8")
    return data, mapping
