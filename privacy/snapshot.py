"""Snapshots: the counted cases a release is computed from, materialised once under its lock."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from schemas.definition import SCHEMA
from schemas.dtypes import pandas_dtype
from schemas.tables import cases, snapshot_cases

# Columns that define the content of a case (for a seeded release's noise key only).
CONTENT = ("cohort", *(f.name for f in SCHEMA.case_fields))


@dataclass(frozen=True)
class Snapshot:
    """The materialised snapshot: what every product of one release reads."""

    @property
    def table(self) -> sa.Table:
        return snapshot_cases

    def rows(self, cohort: int | None = None) -> sa.Select[tuple[object, ...]]:
        """The snapshot's records (one per person), of one cohort or all."""
        query = sa.select(snapshot_cases)
        return query if cohort is None else query.where(snapshot_cases.c.cohort == cohort)

    def frame(self, conn: sa.Connection, cohort: int | None = None) -> pd.DataFrame:
        """Records in the internal form (no bookkeeping), for the microdata products.

        They never leave the secure zone as rows: only what privacy/ builds from them does.
        Ordered by content, so that a seeded release reads them in a reproducible order.
        """
        query = self.rows(cohort).with_only_columns(
            *(snapshot_cases.c[f.name] for f in SCHEMA.case_fields)).order_by(
            *(snapshot_cases.c[f.name] for f in SCHEMA.case_fields))
        frame = pd.read_sql(query, conn)
        return frame.astype({f.name: pandas_dtype(f) for f in SCHEMA.case_fields})  # type: ignore[arg-type]

    def content_hash(self, conn: sa.Connection) -> str:
        """SHA-256 over the snapshot's content: the key of a seeded release's noise, so the
        same seed on other data draws other noise. Secure zone only: never published (it
        would tell anyone whether the data changed)."""
        digest = hashlib.sha256()
        cols = [snapshot_cases.c[c] for c in CONTENT]
        query = sa.select(*cols).order_by(*cols)
        for row in conn.execute(query, execution_options={"yield_per": 10_000}):
            digest.update(("\x1f".join("" if v is None else str(v) for v in row)
                           + "\n").encode())
        return digest.hexdigest()


def clear(conn: sa.Connection) -> None:
    conn.execute(snapshot_cases.delete())


def materialise(conn: sa.Connection) -> Snapshot:
    """Copy the counted cases into the snapshot table in one statement (one consistent read).

    Call under the release lock, in a transaction of its own: the copy is what the release
    computes from and charges for, whatever is uploaded while it runs.
    """
    clear(conn)
    columns = ["cohort", *(f.name for f in SCHEMA.case_fields)]
    source = sa.select(*(cases.c[c] for c in columns)).where(cases.c.duplicate_of.is_(None))
    conn.execute(snapshot_cases.insert().from_select(columns, source))
    return Snapshot()
