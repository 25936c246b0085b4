"""Real CTDC rows relabelled in French: `mapping suggest` alone must recover them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from babel import Locale

from ingest.readers import read_table
from schemas.definition import SCHEMA
from tests.harmonize.ctdc_relabel import (
    COUNTRIES,
    GROUPS,
    SINGLE,
    agreement,
    chosen_codes,
    csv_bytes,
    harmonize_suggested,
    real_cases,
    share,
    suggested_targets,
)

FRENCH_COLUMNS = {  # target -> French header a partner would write
    "case_id": "N° dossier", "year_of_registration": "Année d'enregistrement",
    "gender": "Sexe", "age_broad": "Tranche d'âge", "citizenship": "Nationalité",
    "country_of_exploitation": "Pays d'exploitation",
    "exploitation_type": "Type d'exploitation", "means_of_control": "Moyens de contrôle",
    "labour_type": "Secteur d'activité", "recruiter_relation": "Lien avec le recruteur",
}


def _french(vocab: str, code: str) -> str:
    value = SCHEMA.vocabularies[vocab].value(code)
    words = value.synonyms.get("fr")
    return words[0].capitalize() if words else value.label


def _french_extract(internal: pd.DataFrame) -> bytes:
    territories = Locale.parse("fr").territories
    iso2 = {v.code: v.label for v in SCHEMA.vocabularies["country"].values}
    rows = []
    for i, case in enumerate(internal.itertuples(index=False)):
        rec = case._asdict()
        row = {"N° dossier": f"ES-{i:05d}",
               "Année d'enregistrement": "" if pd.isna(rec["year_of_registration"])
               else str(rec["year_of_registration"])}
        row["Sexe"] = "" if pd.isna(rec["gender"]) else _french("gender", rec["gender"])
        row["Tranche d'âge"] = "" if pd.isna(rec["age_broad"]) else (
            "Inconnu" if rec["age_broad"] == "unknown"
            else SCHEMA.vocabularies["age_band"].value(rec["age_broad"]).label)
        for field in COUNTRIES:
            code = rec[field]
            row[FRENCH_COLUMNS[field]] = ("" if pd.isna(code) else "Inconnu"
                                          if code == "unknown" else territories[iso2[code]])
        for group in GROUPS:
            row[FRENCH_COLUMNS[group]] = "; ".join(
                _french(group, code) for code in chosen_codes(rec, group))
        rows.append(row)
    return csv_bytes(rows, delimiter=";", encoding="cp1252")


def test_suggest_recovers_real_ctdc_rows_relabelled_in_french(ctdc_kanon_path: Path) -> None:
    internal = real_cases(ctdc_kanon_path)
    table = read_table(_french_extract(internal), "registre.csv")
    guesses = suggested_targets(table)
    right = sum(guesses[col] == target for target, col in FRENCH_COLUMNS.items())
    assert right / len(FRENCH_COLUMNS) >= 0.9, guesses

    result = harmonize_suggested(table, "registre")
    assert len(result.cases) == len(internal)
    cells = agreement(result.cases, internal, ("year_of_registration", *SINGLE, *COUNTRIES),
                      GROUPS)
    assert share(cells) >= 0.95, (share(cells), cells)
