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

    Returns how many of the stored records are later records of a person already counted.

    Case keys are HMACs over organisation and local id, so only this organisation's own
    earlier version of a case can share its key.
    """
    frame = result.cases.copy()
    frame["org_id"] = org_id
    frame["upload_id"] = upload_id
    frame["mapping_version"] = result.mapping_version
    frame["ingested_at"] = datetime.now(UTC)
    for col in CASE_COLUMNS:
        if col not in frame.columns:
            frame[col] = None
    keys = frame["case_key"].tolist()
    for i in range(0, len(keys), CHUNK):
        conn.execute(cases.delete().where(cases.c.case_key.in_(keys[i:i + CHUNK])))
    records = _records(frame[CASE_COLUMNS])
    for i in range(0, len(records), CHUNK):
        conn.execute(cases.insert(), records[i:i + CHUNK])
    return duplicates.mark(conn, frame["linkage_key"].dropna().tolist())


def withdraw_cases(conn: sa.Connection, upload_id: int) -> int:
    """Remove an upload's cases so they leave the next snapshot; returns how many.

    Records of the same people elsewhere that pointed to them become primary again.
    """
    links = [r.linkage_key for r in conn.execute(
        sa.select(cases.c.linkage_key).where(cases.c.upload_id == upload_id,
                                             cases.c.linkage_key.is_not(None)))]
    removed = int(conn.execute(cases.delete().where(cases.c.upload_id == upload_id)).rowcount
                  or 0)
    duplicates.mark(conn, links)
    return removed
