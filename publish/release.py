"""Write release folders: built in a temporary sibling, renamed into place, never changed."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from privacy.dp_tables import DpTable
from schemas.codebook import codebook
from schemas.definition import SCHEMA
from schemas.errors import Conflict
from schemas.table_schema import aggregate_table_schema

TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("publish", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
)
LATEST = "LATEST"
LICENCES = {
    "CC-BY-4.0": ("Creative Commons Attribution 4.0",
                  "https://creativecommons.org/licenses/by/4.0/"),
}


@dataclass(frozen=True)
class ReleaseMeta:
    """Everything a release records about what produced it."""

    version: str
    title: str
    created: datetime
    snapshot_hash: str
    case_count: int
    licence: str
    contributors: tuple[str, ...]
    mapping_versions: tuple[str, ...]
    spec: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)


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


def _write_table(folder: Path, name: str, frame: pd.DataFrame) -> tuple[Path, Path]:
    csv_path = folder / "data" / f"{name}.csv"
    parquet_path = folder / "data" / f"{name}.parquet"
    frame.to_csv(csv_path, index=False, encoding="utf-8", lineterminator="\n")
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), parquet_path)
    return csv_path, parquet_path


def _library_versions() -> dict[str, str]:
    out = {}
    for dist in ("ctcollab", "opendp", "pandas", "pyarrow"):
        try:
            out[dist] = importlib_metadata.version(dist)
        except importlib_metadata.PackageNotFoundError:
            out[dist] = "unknown"
    return out


def _resource(folder: Path, table: DpTable, csv_path: Path) -> dict[str, Any]:
    return {
        "name": table.spec.name,
        "title": table.spec.title,
        "type": "table",
        "path": csv_path.relative_to(folder).as_posix(),
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "hash": f"sha256:{_sha256(csv_path)}",
        "bytes": csv_path.stat().st_size,
        "schema": aggregate_table_schema(table.spec.dimensions),
        "privacy": {
            "method": "dp-table",
            "mechanism": "discrete Gaussian (OpenDP)",
            "unit": "one case (one identified victim)",
            "rho": float(table.rho),
            "epsilon": table.epsilon,
            "delta": table.delta,
            "noise_scale": table.scale,
            "ci95_half_width": table.accuracy95,
            "threshold": table.threshold,
            "dimensions": list(table.spec.dimensions),
        },
    }


def _datapackage(meta: ReleaseMeta, resources: list[dict[str, Any]]) -> dict[str, Any]:
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
        "resources": resources,
        "ctcollab": {
            "snapshot_sha256": meta.snapshot_hash,
            "case_count_note": "the exact number of cases is not published",
            "schema_version": SCHEMA.version,
            "mapping_versions": list(meta.mapping_versions),
            "libraries": _library_versions(),
            "spec": meta.spec,
            **meta.extra,
        },
    }


def _codebook_html(meta: ReleaseMeta, resources: list[dict[str, Any]]) -> str:
    return TEMPLATES.get_template("codebook.html").render(
        title=meta.title, version=meta.version, schema_version=SCHEMA.version,
        variables=codebook(),
        countries=next(v for v in codebook() if v.name == "citizenship").values,
        tables=[{"name": r["name"], "title": r["title"], "fields": r["schema"]["fields"]}
                for r in resources],
    )


def build_release_folder(folder: Path, meta: ReleaseMeta, tables: list[DpTable]) -> None:
    """Write every file of a release into ``folder`` (which must be new and empty)."""
    (folder / "data").mkdir(parents=True)
    resources = []
    for table in tables:
        csv_path, _ = _write_table(folder, table.spec.name, table.frame)
        resources.append(_resource(folder, table, csv_path))
    (folder / "codebook.html").write_text(_codebook_html(meta, resources), encoding="utf-8")
    (folder / "datapackage.json").write_text(
        json.dumps(_datapackage(meta, resources), indent=2, ensure_ascii=False) + "\n",
        encoding="utf-8")
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


def unpublish_folder(final: Path) -> None:
    """Undo a rename whose database transaction failed to commit."""
    shutil.rmtree(final, ignore_errors=True)


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
