"""Read-only access to published release folders (the only data the public API serves).

A published release never changes, so what is read from one is kept in memory. Only the list
of releases and the ``LATEST`` pointer can change; they are looked at again at most once a
``refresh_seconds``, so a request never waits on the file system in the common case.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from publish.release import latest_version, list_versions
from schemas.errors import NotFound

LATEST = "latest"


class ReleaseStore:
    def __init__(self, root: Path, *, refresh_seconds: float = 1.0) -> None:
        self.root = root
        self.refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._checked = -float("inf")
        self._versions: tuple[str, ...] = ()
        self._known: frozenset[str] = frozenset()
        self._latest: str | None = None
        self._datapackages: dict[str, dict[str, Any]] = {}
        self._manifests: dict[str, dict[str, str]] = {}

    def _refresh(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked < self.refresh_seconds:
            return
        with self._lock:
            if not force and now - self._checked < self.refresh_seconds:
                return
            versions = tuple(list_versions(self.root))
            self._versions, self._known = versions, frozenset(versions)
            self._latest = latest_version(self.root)
            self._checked = time.monotonic()

    def versions(self) -> list[str]:
        """Complete releases, newest first."""
        self._refresh()
        return list(self._versions)

    def latest(self) -> str | None:
        self._refresh()
        return self._latest

    def resolve(self, version: str) -> str:
        """A concrete version for ``version`` (``latest`` or a published version)."""
        if version == LATEST:
            found = self.latest()
            if found is None:
                raise NotFound("no release has been published yet")
            return found
        # The list is looked at again at most once a refresh_seconds, so a release published
        # a moment ago is found within a second, and probing names costs no disk access.
        self._refresh()
        if version in self._known:
            return version
        raise NotFound("no such release", hint="versions look like 2026.03.01 or 'latest'; "
                       "GET /api/v1/releases lists them")

    def datapackage(self, version: str) -> dict[str, Any]:
        version = self.resolve(version)
        found = self._datapackages.get(version)
        if found is None:
            path = self.root / version / "datapackage.json"
            found = json.loads(path.read_text(encoding="utf-8"))
            self._datapackages[version] = found
        return found

    def manifest(self, version: str) -> dict[str, str]:
        """``relative path -> sha256`` of every file of the release (SHA256SUMS itself: "")."""
        version = self.resolve(version)
        found = self._manifests.get(version)
        if found is None:
            found = {}
            path = self.root / version / "SHA256SUMS"
            for line in path.read_text(encoding="utf-8").splitlines():
                digest, _, name = line.partition("  ")
                if name:
                    found[name] = digest
            found[path.name] = ""
            self._manifests[version] = found
        return found

    def file(self, version: str, relpath: str) -> Path:
        """A file listed in the release's SHA256SUMS (nothing else can be reached)."""
        version = self.resolve(version)
        if relpath not in self.manifest(version):
            raise NotFound("this release has no such file",
                           hint="the release's SHA256SUMS lists its files")
        return self.root / version / relpath
