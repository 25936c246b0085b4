"""Write release folders: built in a temporary sibling, renamed into place, never changed."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from publish import documents, ledger, site
from publish.meta import LICENCES, ReleaseMeta
from publish.resources import Resource
from schemas.definition import SCHEMA
from schemas.errors import Conflict

LATEST = "LATEST"
def next_version(releases_dir: Path, today: date, taken: set[str]) -> str:
    """``YYYY.MM.DD``, or ``YYYY.MM.DD-N`` for the N-th release of the same day."""
    base = today.strftime("%Y.%m.%d")
    existing = taken | {p.name for p in releases_dir.glob(f"{base}*")} if releases_dir.exists() \
        else taken
    if base not in existing:
        return base
    n = 2
    while f"{base}-{n}" in existing:
        n += 1
    return f"{base}-{n}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_table(folder: Path, name: str, frame: pd.DataFrame) -> Path:
    csv_path = folder / "data" / f"{name}.csv"
    frame.to_csv(csv_path, index=False, encoding="utf-8", lineterminator="\n")
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False),
                   csv_path.with_suffix(".parquet"))
    return csv_path


def _library_versions() -> dict[str, str]:
    out = {}
    for dist in ("ctcollab", "opendp", "pandas", "pyarrow", "pac-synth", "pycanon"):
        try:
            out[dist] = importlib_metadata.version(dist)
        except importlib_metadata.PackageNotFoundError:
            out[dist] = "unknown"
    return out


def _resource_entry(folder: Path, res: Resource, csv_path: Path) -> dict[str, Any]:
    return {
        "name": res.name,
        "title": res.title + (" (SYNTHETIC DATA)" if res.synthetic else ""),
        **({"titles": res.titles} if res.titles else {}),
        "description": res.description,
        "type": "table",
        "path": csv_path.relative_to(folder).as_posix(),
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "hash": f"sha256:{_sha256(csv_path)}",
        "bytes": csv_path.stat().st_size,
        "schema": res.schema,
        "privacy": res.privacy,
    }


def _datapackage(meta: ReleaseMeta, entries: list[dict[str, Any]],
                 earlier: list[str]) -> dict[str, Any]:
    title, url = LICENCES.get(meta.licence, (meta.licence, ""))
    return {
        "$schema": "https://datapackage.org/profiles/2.0/datapackage.json",
        "name": "ctcollab-release",
        "id": f"ctcollab-{meta.version}",
        "title": meta.title,
        "version": meta.version,
        "created": meta.created.isoformat(timespec="seconds"),
        "licenses": [{"name": meta.licence, "title": title, **({"path": url} if url else {})}],
        "contributors": [{"title": c, "roles": ["contributor"]} for c in meta.contributors],
        "sources": [{"title": "Case extracts of the collaborative's partner organisations"}],
        "resources": entries,
        "ctcollab": {
            "release_id": meta.release_id,
            "schema_version": SCHEMA.version,
            "libraries": _library_versions(),
            "spec": meta.spec,
            "earlier_releases": earlier,
            "privacy_ledger": ledger.public(meta.privacy_ledger),
            **meta.extra,
        },
    }


def build_release_folder(folder: Path, meta: ReleaseMeta, resources: list[Resource],
                         previous: Path | None = None,
                         extra_files: dict[str, bytes] | None = None) -> None:
    """Write every file of a release into ``folder`` (new and empty); the manifest last.

    ``extra_files`` (relative path -> bytes) are written exactly as given: the per-cohort
    measurement files, a closed cohort's carried byte for byte from an earlier release.
    """
    (folder / "data").mkdir(parents=True)
    for relative, data in sorted((extra_files or {}).items()):
        target = folder / relative
        if target.resolve().parent != (folder / relative).parent.resolve() or ".." in relative:
            raise ValueError(f"{relative!r} is not a path inside the release")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    entries = [_resource_entry(folder, r, _write_table(folder, r.name, r.frame))
               for r in resources]
    tables = [r for r in resources if r.method == "dp-table" and not r.privacy.get("raw")]
    if tables:
        documents.write_workbook(folder / "data" / "tables.xlsx", meta, tables)
    # The staging folder sits in the releases folder: the releases already there are the
    # earlier ones, which the site links to (they never change).
    dp = _datapackage(meta, entries, list_versions(folder.parent))
    (folder / "datapackage.json").write_text(
        json.dumps(dp, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    documents.write_documents(folder, meta, resources, dp, previous)
    # The site reads back the files written above, so it shows exactly what they hold.
    site.write_site(folder, meta, dp, documents.citation_text(meta))
    # SHA256SUMS last, over everything else: it is the manifest of a complete release.
    sums = sorted(p for p in folder.rglob("*") if p.is_file())
    lines = [f"{_sha256(p)}  {p.relative_to(folder).as_posix()}" for p in sums]
    (folder / "SHA256SUMS").write_text("\n".join(lines) + "\n", encoding="utf-8")


@contextmanager
def staged_release(releases_dir: Path, version: str) -> Iterator[Path]:
    """A temporary folder beside ``releases_dir/version``; removed unless published."""
    releases_dir.mkdir(parents=True, exist_ok=True)
    if (releases_dir / version).exists():
        raise Conflict(f"release {version} already exists; releases are never overwritten")
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=releases_dir))
    try:
        yield tmp
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def publish_folder(tmp: Path, releases_dir: Path, version: str) -> Path:
    """Rename the staged folder into place (atomic on one filesystem; never overwrites)."""
    final = releases_dir / version
    os.rename(tmp, final)
    return final


def set_latest(releases_dir: Path, version: str) -> None:
    pointer = releases_dir / LATEST
    tmp = releases_dir / f".{LATEST}.tmp"
    tmp.write_text(version + "\n", encoding="utf-8")
    os.replace(tmp, pointer)


def latest_version(releases_dir: Path) -> str | None:
    pointer = releases_dir / LATEST
    if not pointer.exists():
        return None
    version = pointer.read_text(encoding="utf-8").strip()
    return version if (releases_dir / version / "SHA256SUMS").exists() else None


def list_versions(releases_dir: Path) -> list[str]:
    """Complete releases (those with their manifest), newest first."""
    if not releases_dir.exists():
        return []
    found = [p.name for p in releases_dir.iterdir()
             if p.is_dir() and not p.name.startswith(".") and (p / "SHA256SUMS").exists()]
    return sorted(found, key=version_key, reverse=True)


def version_key(version: str) -> tuple[str, int]:
    """Order ``2026.11.24`` < ``2026.11.24-2`` < ``2026.11.24-10``."""
    base, _, n = version.partition("-")
    return base, int(n) if n.isdigit() else 1


def now_utc() -> datetime:
    return datetime.now(UTC)
