"""Upload records: receive a partner's file into the raw store and track its status."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from ingest.errors import NoDataRows
from ingest.limits import DEFAULT_LIMITS, Limits
from ingest.raw_store import RawStore
from ingest.readers import file_too_large, read_table
from ingest.table import RawTable
from schemas.errors import NotFound
from schemas.tables import uploads

# received -> parsed -> harmonised | rejected | failed; withdrawn when the partner takes it back
RECEIVED, PARSED, HARMONISED = "received", "parsed", "harmonised"
REJECTED, FAILED, WITHDRAWN = "rejected", "failed", "withdrawn"
OPEN = (RECEIVED, PARSED)


@dataclass(frozen=True)
class Upload:
    """One file an organisation sent, and what became of it (no cell values)."""

    id: int
    org_id: int
    filename: str
    size: int
    sha256: str
    format: str | None
    encoding: str | None
    status: str
    mapping_version: str | None
    rows_read: int | None
    rows_accepted: int | None
    rows_quarantined: int | None
    error_code: str | None
    report: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: sa.Row[Any]) -> Upload:
        return cls(**{name: getattr(row, name) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Received:
    upload: Upload
    table: RawTable | None  # None when the same bytes were already ingested
    duplicate: bool


def safe_filename(name: str) -> str:
    """The name to record: no folders, no control characters, at most 255 characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable()).strip()
    return (cleaned or "upload")[:255]


def find_duplicate(conn: sa.Connection, org_id: int, sha: str) -> Upload | None:
    """An earlier upload of the same bytes by the same organisation that still counts."""
    row = conn.execute(
        sa.select(uploads)
        .where(
            uploads.c.org_id == org_id,
            uploads.c.sha256 == sha,
            uploads.c.status.in_((*OPEN, HARMONISED)),
        )
        .order_by(uploads.c.id)
    ).first()
    return Upload.from_row(row) if row else None


def receive(
    engine: sa.Engine,
    store: RawStore,
    *,
    org_id: int,
    filename: str,
    data: bytes,
    max_bytes: int,
    sheet: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Received:
    """Check that the bytes are a readable table, then keep them and record the upload.

    A file that cannot be read, or holds no data row, raises an InputRejected subclass
    (`ingest.errors`) before anything is written. `max_bytes` (the deployment's upload
    limit) caps the file size below `limits.max_file_bytes`.
    """
    name = safe_filename(filename)
    limits = replace(limits, max_file_bytes=min(max_bytes, limits.max_file_bytes))
    if len(data) > limits.max_file_bytes:
        raise file_too_large(name, len(data), limits.max_file_bytes)
    sha = hashlib.sha256(data).hexdigest()
    with engine.connect() as conn:
        seen = find_duplicate(conn, org_id, sha)
    if seen is not None:
        return Received(seen, None, True)
    table = read_table(data, name, sheet=sheet, limits=limits)
    if len(table) == 0:
        raise NoDataRows(
            f"{name} has a header but no data rows"
            + (f" in sheet '{table.sheet}'." if table.sheet else "."),
            hint="check that you exported the cases, not only the column names",
            filename=name,
            sheet=table.sheet,
        )
    existed = store.exists(sha)
    store.put(data)
    try:
        with engine.begin() as conn:
            now = datetime.now(UTC)
            upload_id = conn.execute(
                uploads.insert().values(
                    org_id=org_id,
                    filename=name,
                    size=len(data),
                    sha256=sha,
                    format=table.format,
                    encoding=table.encoding,
                    status=PARSED,
                    rows_read=len(table.frame),
                    created_at=now,
                    updated_at=now,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            upload = get(conn, org_id, int(upload_id))
    except BaseException:
        if not existed:
            store.delete(sha)
        raise
    return Received(upload, table, False)


def get(conn: sa.Connection, org_id: int, upload_id: int) -> Upload:
    """One upload of this organisation; another organisation's is simply not found."""
    row = conn.execute(
        sa.select(uploads).where(uploads.c.id == upload_id, uploads.c.org_id == org_id)
    ).first()
    if row is None:
        raise NotFound(f"no upload {upload_id} for this organisation")
    return Upload.from_row(row)


def list_for(conn: sa.Connection, org_id: int, limit: int = 100) -> list[Upload]:
    rows = conn.execute(
        sa.select(uploads)
        .where(uploads.c.org_id == org_id)
        .order_by(uploads.c.id.desc())
        .limit(limit)
    )
    return [Upload.from_row(r) for r in rows]


def mark(conn: sa.Connection, upload_id: int, status: str, **values: Any) -> None:
    conn.execute(
        uploads.update()
        .where(uploads.c.id == upload_id)
        .values(status=status, updated_at=datetime.now(UTC), **values)
    )


def forget(engine: sa.Engine, store: RawStore, upload: Upload) -> None:
    """Remove every trace of a rejected upload: its record and, if unshared, its bytes."""
    with engine.begin() as conn:
        conn.execute(uploads.delete().where(uploads.c.id == upload.id))
        shared = conn.execute(
            sa.select(uploads.c.id).where(uploads.c.sha256 == upload.sha256)
        ).first()
    if shared is None and store.exists(upload.sha256):
        store.delete(upload.sha256)
