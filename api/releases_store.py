"""Read-only access to published release folders (the only data the public API serves)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from publish.release import latest_version, list_versions
from schemas.errors import NotFound


@dataclass(frozen=True)
class ReleaseStore:
    root: Path

    def versions(self) -> list[str]:
        return list_versions(self.root)

    def resolve(self, version: str) -> str:
        if version == "latest":
            found = latest_version(self.root)
            if found is None:
                raise NotFound("no release has been published yet")
            return found
        if version not in self.versions():
            raise NotFound(f"no release {version!r}")
        return version

    def datapackage(self, version: str) -> dict[str, Any]:
        version = self.resolve(version)
        return _read_json(self.root / version / "datapackage.json")

    def file(self, version: str, relpath: str) -> Path:
        """A file listed in the release's SHA256SUMS (nothing else can be reached)."""
        version = self.resolve(version)
        if relpath not in self.manifest(version):
            raise NotFound(f"release {version} has no file {relpath!r}")
        return self.root / version / relpath

    def manifest(self, version: str) -> dict[str, str]:
        return _manifest(self.root / self.resolve(version) / "SHA256SUMS")


@lru_cache(maxsize=256)
def _read_json(path: Path) -> dict[str, Any]:
    # Safe to cache forever: a published release is never modified.
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@lru_cache(maxsize=256)
def _manifest(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        digest, _, name = line.partition("  ")
        out[name] = digest
    out[path.name] = ""
    return out
