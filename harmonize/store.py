"""Write harmonised cases: replace an organisation's previous version of each case."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa

from harmonize import duplicates
from harmonize.harmonizer import Harmonized
from schemas.definition import SCHEMA
from schemas.tables import cases

CASE_COLUMNS = [f.name for f in SCHEMA.stored_fields]
CHUNK = 5_000


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """DataFrame -> plain Python values for SQLAlchemy (NA -> None, numpy -> builtins)."""
    out = frame.astype(object).where(frame.notna(), None)
    records: list[dict[str, Any]] = out.to_dict(orient="records")  # type: ignore[assignment]
    return records


def store_cases(conn: sa.Connection, result: Harmonized, *, org_id: int, upload_id: int) -> int:
    """Insert the cases in the caller's transaction; a re-uploaded case replaces the old one.

    Returns how many of the stored records are the same person as another record of this
    organisation (``duplicates.repeat_records``: from this organisation's records alone).

    Case keys are HMACs over organisation and local id, so only this organisation's own
    earlier version of a case can share its key. Every record gets its cohort here: a
    re-uploaded case keeps its stored one; a new one starts from its year of registration
    (when not after the year received) or else the year received, and then takes its
    person's cohort if it links to a known person (``duplicates.mark``).
    """
    frame = result.cases.copy()
    received = datetime.now(UTC)
    frame["org_id"] = org_id
    frame["upload_id"] = upload_id
    frame["mapping_version"] = result.mapping_version
    frame["ingested_at"] = received
    for col in CASE_COLUMNS:
        if col not in frame.columns:
            frame[col] = None
    keys = frame["case_key"].tolist()
    stored: dict[str, int] = {}
    touched: list[str] = []  # keys of replaced versions: their persons change too
    for i in range(0, len(keys), CHUNK):
        chunk = keys[i:i + CHUNK]
        for row in conn.execute(sa.select(cases.c.case_key, cases.c.cohort,
                                          *(cases.c[k] for k in duplicates.KEYS))
                                .where(cases.c.case_key.in_(chunk))):
            stored[row.case_key] = row.cohort
            touched += [k for k in (row.linkage_key, row.linkage_key_year) if k]
        conn.execute(cases.delete().where(cases.c.case_key.in_(chunk)))
    frame["cohort"] = _cohorts(frame, stored, received.year)
    records = _records(frame[CASE_COLUMNS])
    for i in range(0, len(records), CHUNK):
        conn.execute(cases.insert(), records[i:i + CHUNK])
    linked = [k for col in duplicates.KEYS for k in frame[col].dropna().tolist()]
    duplicates.mark(conn, [*linked, *touched])
    return duplicates.repeat_records(conn, org_id, upload_id, linked)


def _cohorts(frame: pd.DataFrame, stored: dict[str, int], received_year: int) -> pd.Series:
    """A re-uploaded case's stored cohort, else its year of registration when supplied and
    not after the year received, else the year received."""
    registered = pd.to_numeric(frame["year_of_registration"], errors="coerce")
    fresh = registered.where(registered.notna() & (registered <= received_year), received_year)
    kept = frame["case_key"].map(stored)
    return kept.where(kept.notna(), fresh).astype("Int16")


def withdraw_cases(conn: sa.Connection, upload_id: int) -> int:
    """Remove an upload's cases so they leave the next snapshot; returns how many.

    The persons they belonged to are linked again without them: records of the same people
    elsewhere that pointed to them become counted again.
    """
    links = [k for row in conn.execute(
        sa.select(*(cases.c[k] for k in duplicates.KEYS)).where(cases.c.upload_id == upload_id))
        for k in row if k]
    removed = int(conn.execute(cases.delete().where(cases.c.upload_id == upload_id)).rowcount
                  or 0)
    duplicates.mark(conn, links)
    return removed
