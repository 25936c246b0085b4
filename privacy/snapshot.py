"""Snapshots: the set of cases a release is computed from, identified by a content hash."""

from __future__ import annotations

import hashlib

import pandas as pd
import sqlalchemy as sa

from schemas.definition import SCHEMA
from schemas.dtypes import pandas_dtype
from schemas.tables import counted_cases

# Columns that define the content of a case; bookkeeping (upload, time) does not.
CONTENT = ("case_key", *(f.name for f in SCHEMA.case_fields))


def snapshot_hash(conn: sa.Connection) -> tuple[str, int]:
    """SHA-256 over every case's content in key order, and the number of cases."""
    digest = hashlib.sha256()
    n = 0
    counted = counted_cases().subquery()
    query = sa.select(*(counted.c[c] for c in CONTENT)).order_by(counted.c.case_key)
    # Options on this statement only: Connection.execution_options would change the connection.
    for row in conn.execute(query, execution_options={"yield_per": 10_000}):
        digest.update(("\x1f".join("" if v is None else str(v) for v in row) + "\n").encode())
        n += 1
    return digest.hexdigest(), n


def snapshot_frame(conn: sa.Connection) -> pd.DataFrame:
    """Every current case in the internal form, without bookkeeping columns.

    For the microdata products (k-anonymity, synthesis), which need rows rather than counts;
    they never leave the secure zone as rows: only what privacy/ builds from them does.
    """
    counted = counted_cases().subquery()
    query = (sa.select(*(counted.c[f.name] for f in SCHEMA.case_fields))
             .order_by(counted.c.case_key))
    frame = pd.read_sql(query, conn)
    return frame.astype({f.name: pandas_dtype(f) for f in SCHEMA.case_fields})  # type: ignore[arg-type]
