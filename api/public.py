"""The public side's data: releases, their tables and files, as prepared response bytes.

Everything here comes from release folders (immutable once published); nothing reads the
database. Each response names its release, its licence and how to cite it.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

import orjson

from api.cache import Prepared
from api.headers import Header
from api.releases_store import LATEST, ReleaseStore
from api.tables import Table
from schemas.errors import NotFound

API = "/api/v1/releases"
MEDIA_TYPES = {
    ".csv": "text/csv; charset=utf-8",
    ".parquet": "application/vnd.apache.parquet",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".json": "application/json",
    ".jsonld": "application/ld+json",
    ".html": "text/html; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".cff": "text/plain; charset=utf-8",
}
DATA_FILES = (".csv", ".parquet", ".xlsx")
# Release files are documents, not pages of this site: no script, no forms, no framing.
FILE_CSP = b"default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox; " \
           b"frame-ancestors 'none'"


def licence_of(dp: dict[str, Any]) -> dict[str, str]:
    first = (dp.get("licenses") or [{}])[0]
    return {k: str(first[k]) for k in ("name", "title", "path") if k in first}


def citation(dp: dict[str, Any]) -> str:
    return (f"ctcollab counter-trafficking data collaborative ({str(dp['created'])[:4]}). "
            f"{dp['title']}, release {dp['version']}. Licence {licence_of(dp).get('name', '')}.")


@dataclass(frozen=True)
class ReleaseInfo:
    """What every response about one release says about it."""

    version: str
    title: str
    created: str
    licence: dict[str, str]
    citation: str
    datapackage: dict[str, Any]
    head: bytes  # the "release" member of responses, as JSON
    links: tuple[Header, ...]

    @property
    def url(self) -> str:
        return f"{API}/{self.version}"

    def tables(self) -> list[dict[str, Any]]:
        """The release's tabular resources (CSV files with a schema)."""
        return [r for r in self.datapackage.get("resources", [])
                if str(r.get("path", "")).endswith(".csv")]


def is_aggregate(resource: dict[str, Any]) -> bool:
    """A table of counts (dimensions, count, interval, flag) rather than microdata."""
    fields = (resource.get("schema") or {}).get("fields", [])
    return any(f.get("name") == "count" for f in fields)


def _release_info(version: str, dp: dict[str, Any]) -> ReleaseInfo:
    lic = licence_of(dp)
    cite = citation(dp)
    url = f"{API}/{version}"
    head = {"version": version, "title": dp.get("title", ""), "created": dp.get("created", ""),
            "licence": lic.get("name", ""), "licence_title": lic.get("title"),
            "licence_url": lic.get("path"), "citation": cite, "url": url,
            "datapackage": f"{url}/files/datapackage.json"}
    links = [f'<{url}>; rel="cite-as"', f'<{url}/files/datapackage.json>; rel="describedby"']
    if lic.get("path"):
        links.append(f'<{lic["path"]}>; rel="license"')
    return ReleaseInfo(
        version=version, title=str(dp.get("title", "")), created=str(dp.get("created", "")),
        licence=lic, citation=cite, datapackage=dp, head=orjson.dumps(head),
        links=((b"link", ", ".join(links).encode("ascii", "replace")),
               (b"x-ctcollab-release", version.encode()),
               (b"x-ctcollab-licence", lic.get("name", "").encode("ascii", "replace"))),
    )


class PublicData:
    def __init__(self, store: ReleaseStore, *, page_size: int, max_page_size: int,
                 file_cache_max_bytes: int) -> None:
        self.store = store
        self.page_size, self.max_page_size = page_size, max_page_size
        self.file_cache_max_bytes = file_cache_max_bytes
        self._infos: dict[str, ReleaseInfo] = {}
        self._tables: dict[tuple[str, str], Table] = {}
        self._lock = threading.Lock()

    def info(self, version: str) -> ReleaseInfo:
        resolved = self.store.resolve(version)
        found = self._infos.get(resolved)
        if found is None:
            found = _release_info(resolved, self.store.datapackage(resolved))
            self._infos[resolved] = found
        return found

    def resource(self, version: str, name: str) -> dict[str, Any]:
        for r in self.info(version).tables():
            if r.get("name") == name:
                return r
        raise NotFound("this release has no such table",
                       hint="GET /api/v1/releases/{version}/tables lists them")

    def loaded(self, version: str, name: str) -> Table | None:
        """The table if it is already in memory (never touches the disk)."""
        return self._tables.get((version, name))

    def table(self, version: str, name: str) -> Table:
        """The table, loaded and indexed at first use (a published file never changes)."""
        info = self.info(version)
        key = (info.version, name)
        found = self._tables.get(key)
        if found is not None:
            return found
        resource = self.resource(info.version, name)
        with self._lock:
            found = self._tables.get(key)
            if found is None:
                path = self.store.file(info.version, str(resource["path"]))
                found = Table(version=info.version, resource=resource, data=path.read_bytes(),
                              head=info.head, page_size=self.page_size,
                              max_page_size=self.max_page_size)
                self._tables[key] = found
        return found

    def query(self, version: str, name: str, query_string: str) -> Prepared:
        info = self.info(version)
        table = self.table(info.version, name)
        q = table.parse(query_string)
        body, next_url = table.render(q)
        headers = list(info.links)
        if next_url is not None:
            headers[0] = (b"link", headers[0][1] + f', <{next_url}>; rel="next"'.encode())
        if q.format == "csv":
            suffix = "-filtered" if q.filters else ""
            headers.append((b"content-disposition",
                            f'attachment; filename="{table.name}-{info.version}{suffix}.csv"'
                            .encode()))
            media = "text/csv; charset=utf-8"
        else:
            media = "application/json"
        return Prepared.build(body, media, headers, version=info.version,
                              follows_latest=version == LATEST, immutable=version != LATEST)

    def file(self, version: str, relpath: str) -> Prepared | tuple[Path, list[Header]]:
        """A release file: its bytes when small enough to keep, else its path to stream."""
        info = self.info(version)
        path = self.store.file(info.version, relpath)
        digest = self.store.manifest(info.version).get(relpath) or ""
        pure = PurePosixPath(relpath)
        media = MEDIA_TYPES.get(pure.suffix, "text/plain; charset=utf-8"
                                if pure.name == "SHA256SUMS" else "application/octet-stream")
        headers = [*info.links, (b"content-security-policy", FILE_CSP),
                   (b"x-content-type-options", b"nosniff")]
        if pure.suffix in DATA_FILES:
            filename = f"{pure.stem}-{info.version}{pure.suffix}"
            headers.append((b"content-disposition",
                            f"attachment; filename=\"{filename}\"; "
                            f"filename*=UTF-8''{quote(filename)}".encode()))
        immutable = version != LATEST
        if path.stat().st_size > self.file_cache_max_bytes:
            tag = digest or hashlib.sha256(path.name.encode()).hexdigest()
            cache = (b"public, max-age=31536000, immutable" if immutable else b"public, no-cache")
            return path, [*headers, (b"etag", f'"{tag}"'.encode()), (b"cache-control", cache),
                          (b"content-type", media.encode())]
        body = path.read_bytes()
        return Prepared.build(body, media, headers, version=info.version,
                              follows_latest=not immutable, immutable=immutable,
                              etag=digest or None)
