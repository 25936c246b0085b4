"""Helpers for the privacy-over-time tests: small extracts per cohort, a small spec, readers."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ctcollab import pipeline
from tests.ctcollab.conftest import FRENCH_MAPPING

YEAR = datetime.now(UTC).year
COHORTS = (YEAR - 2, YEAR - 1, YEAR)
GENDERS = ("Femme", "Homme", "Inconnu")
# Two small tables and no microdata: a release takes well under a second.
SMALL_SPEC = f"""
title: Test collaborative
year_min: {YEAR - 2}
dp_tables:
  rho: 0.5
  tables:
    - {{name: by_gender, title: By gender, dimensions: [gender]}}
    - {{name: by_year, title: By year, dimensions: [year_of_registration]}}
"""
SPEC_RHO = 0.5
HEADER = ["N° dossier", "Date d'enregistrement", "Sexe", "Âge", "Nationalité",
          "Pays d'exploitation", "Type d'exploitation"]


def extract(rows: list[tuple[str, int, str]]) -> bytes:
    """A French extract of (local id, year of registration, gender label) rows."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADER)
    for local_id, year, gender in rows:
        writer.writerow([local_id, f"15/06/{year}", gender, "30", "Mali", "Libye",
                         "Travail forcé"])
    return buf.getvalue().encode("cp1252")


def write_inputs(folder: Path) -> tuple[Path, Path]:
    """The spec and the mapping files the tests use."""
    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / "spec.yaml"
    spec.write_text(SMALL_SPEC, encoding="utf-8")
    mapping = folder / "mapping.yaml"
    mapping.write_text(FRENCH_MAPPING, encoding="utf-8")
    return spec, mapping


def ingest(ctx: pipeline.Context, folder: Path, name: str, rows: list[tuple[str, int, str]],
           mapping: Path, org: str = "ong-test") -> pipeline.IngestResult:
    path = folder / f"{name}.csv"
    path.write_bytes(extract(rows))
    return pipeline.ingest_file(ctx, org, path, mapping=mapping)


def cohort_files(release: Path) -> dict[str, bytes]:
    """Every per-cohort file of a release folder, by relative path."""
    return {p.relative_to(release).as_posix(): p.read_bytes()
            for p in sorted((release / "cohorts").rglob("*")) if p.is_file()}


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def datapackage(release: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((release / "datapackage.json").read_text("utf-8"))
    return loaded


def measurement(release: Path, cohort: int, table: str) -> pd.DataFrame:
    return pd.read_csv(release / "cohorts" / str(cohort) / f"{table}.csv")
