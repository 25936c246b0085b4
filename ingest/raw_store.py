"""RawStore: uploads kept byte for byte, addressed by SHA-256, never served to anyone."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from ingest.errors import FileTooLarge

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_FILE_MODE = 0o600
_DIR_MODE = 0o700


class RawStore:
    """A content-addressed folder: `<root>/<sha[:2]>/<sha>`.

    Writes go to a temporary file in the destination folder and are renamed into place,
    so a reader never sees half a file and a crash leaves at most a stray temp file.
    Storing the same bytes twice is a no-op. Nothing here is ever served to anyone.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def put(self, data: bytes) -> str:
        """Store `data`; return its SHA-256 (lowercase hex)."""
        sha = hashlib.sha256(data).hexdigest()
        if self.exists(sha):
            return sha
        folder = self._folder(sha)
        with self._temp_file(folder) as (fd, tmp):
            with os.fdopen(fd, "wb", closefd=False) as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            self._commit(tmp, self.path(sha))
        return sha

    def put_stream(self, chunks: Iterable[bytes], max_bytes: int) -> tuple[str, int]:
        """Store a stream without holding it in memory; return (SHA-256, size in bytes).

        Raises FileTooLarge (a PayloadTooLarge) as soon as more than `max_bytes` have
        arrived, and then leaves nothing behind.
        """
        digest = hashlib.sha256()
        size = 0
        # the folder is only known once the hash is: stage in the root, same file system
        _ensure_dir(self.root)
        with self._temp_file(self.root) as (fd, tmp):
            with os.fdopen(fd, "wb", closefd=False) as out:
                for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise FileTooLarge(
                            f"The upload is larger than the limit of {_megabytes(max_bytes)}.",
                            hint="split the extract into several files, or compress it as .xlsx",
                        )
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            if not self.exists(sha):
                self._folder(sha)
                self._commit(tmp, self.path(sha))
        return sha, size

    def path(self, sha: str) -> Path:
        """Where the bytes with this SHA-256 live (whether or not they are stored)."""
        _check_sha(sha)
        return self.root / sha[:2] / sha

    def exists(self, sha: str) -> bool:
        return self.path(sha).is_file()

    def read(self, sha: str) -> bytes:
        """The stored bytes; FileNotFoundError if absent."""
        return self.path(sha).read_bytes()

    def delete(self, sha: str) -> None:
        """Remove the bytes (a withdrawn upload); absent is fine, so a retry is harmless."""
        path = self.path(sha)
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            path.parent.rmdir()  # only succeeds once the folder is empty

    def _folder(self, sha: str) -> Path:
        folder = self.root / sha[:2]
        _ensure_dir(self.root)
        _ensure_dir(folder)
        return folder

    @contextlib.contextmanager
    def _temp_file(self, folder: Path) -> Iterator[tuple[int, Path]]:
        """A private temp file in `folder`; removed on the way out unless renamed away."""
        fd, name = tempfile.mkstemp(prefix=".upload-", suffix=".tmp", dir=folder)
        tmp = Path(name)
        try:
            os.fchmod(fd, _FILE_MODE)  # mkstemp already uses 0o600; said again on purpose
            yield fd, tmp
        finally:
            os.close(fd)
            tmp.unlink(missing_ok=True)

    @staticmethod
    def _commit(tmp: Path, final: Path) -> None:
        os.replace(tmp, final)
        # a rename is durable only once the folder's entry is on disk too
        with contextlib.suppress(OSError):
            dir_fd = os.open(final.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)


def _ensure_dir(path: Path) -> None:
    if not path.is_dir():
        path.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
        # mkdir's mode is filtered by the umask, hence the chmod of what was created
        path.chmod(_DIR_MODE)


def _check_sha(sha: str) -> None:
    # the name becomes a path: only a SHA-256 hex digest may, so no "../" ever does
    if not isinstance(sha, str) or not _SHA256_HEX.fullmatch(sha):
        raise ValueError("not a SHA-256 hex digest (64 lowercase hexadecimal characters)")


def _megabytes(n: int) -> str:
    return f"{n / 1_048_576:,.0f} MB" if n >= 1_048_576 else f"{n:,} bytes"
