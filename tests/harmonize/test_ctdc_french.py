"""Real CTDC rows relabelled in French: `mapping suggest` alone must recover them."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
from babel import Locale

from harmonize.harmonizer import harmonize
from harmonize.mapping import parse_mapping
from harmonize.suggest import draft_yaml, suggest
from ingest.readers import read_table
from schemas.ctdc_form import from_ctdc
from schemas.definition import SCHEMA

FRENCH_COLUMNS = {  # target -> French header a partner would write
    "case_id": "N° dossier", "year_of_registration": "Année d'enregistrement",
    "gender": "Sexe", "age_broad": "Tranche d'âge", "citizenship": "Nationalité",
    "country_of_exploitation": "Pays d'exploitation",
    "exploitation_type": "Type d'exploitation", "means_of_control": "Moyens de contrôle",
    "labour_type": "Secteur d'activité", "recruiter_relation": "Lien avec le recruteur",
}
SINGLE = ("gender", "age_broad")
COUNTRIES = ("citizenship", "country_of_exploitation")
GROUPS = ("exploitation_type", "means_of_control", "labour_type", "recruiter_relation")


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
            chosen = [_french(group, f.code or "") for f in SCHEMA.flags_of(group)
                      if not f.derived and rec[f.name] is True]
            row[FRENCH_COLUMNS[group]] = "; ".join(chosen)
        rows.append(row)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), delimiter=";",
                            lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("cp1252", errors="replace")


def test_suggest_recovers_real_ctdc_rows_relabelled_in_french(ctdc_kanon_path: Path) -> None:
    real = pd.read_csv(ctdc_kanon_path, dtype=str, keep_default_na=False)
    internal = from_ctdc(real.sample(3000, random_state=4)).reset_index(drop=True)
    internal = internal.astype(object).where(internal.notna(), None)
    data = _french_extract(internal)
    table = read_table(data, "registre.csv")
    guesses = {g.column: g.target for g in suggest(table)}
    right = sum(guesses[col] == target for target, col in FRENCH_COLUMNS.items())
    assert right / len(FRENCH_COLUMNS) >= 0.9, guesses

    mapping = parse_mapping(draft_yaml(list(suggest(table)), name="registre"))
    result = harmonize(table.frame, table.source_rows, mapping, org_id=1, secret=b"k" * 32)
    assert len(result.cases) == len(internal)
    agree = total = 0
    for field in ("year_of_registration", *SINGLE, *COUNTRIES):
        ours = result.cases[field].astype(object).where(result.cases[field].notna(), None)
        agree += int((ours.astype(str) == internal[field].astype(str)).sum())
        total += len(internal)
    for group in GROUPS:
        for flag in SCHEMA.flags_of(group):
            if flag.derived or flag.name not in result.cases:
                continue
            ours = result.cases[flag.name].fillna(False).astype(bool)
            theirs = internal[flag.name].map(lambda v: v is True)
            agree += int((ours == theirs).sum())
            total += len(internal)
    assert agree / total >= 0.95, agree / total

