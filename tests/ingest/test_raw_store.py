"""RawStore: content addressing, atomic private writes, streaming with a cap, no path tricks."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.errors import FileTooLarge
from ingest.raw_store import RawStore
from schemas.errors import PayloadTooLarge

DATA = "N° dossier;Pays\r\nFR-001;Côte d'Ivoire\r\n".encode("cp1252")
SHA = hashlib.sha256(DATA).hexdigest()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and p.name.startswith(".upload-")]


def test_put_is_content_addressed_private_and_byte_exact(tmp_path: Path) -> None:
    store = RawStore(tmp_path / "raw")
    sha = store.put(DATA)
    assert sha == SHA
    path = store.path(sha)
    assert path == tmp_path / "raw" / sha[:2] / sha
    assert store.exists(sha) and store.read(sha) == DATA
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700 and mode(tmp_path / "raw") == 0o700
    assert leftovers(tmp_path) == []


def test_put_is_idempotent(tmp_path: Path) -> None:
    store = RawStore(tmp_path)
    first = store.put(DATA)
    before = store.path(first).stat().st_mtime_ns
    assert store.put(DATA) == first
    assert store.path(first).stat().st_mtime_ns == before
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [store.path(first)]


def test_private_modes_despite_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0o000)
    try:
        store = RawStore(tmp_path / "raw")
        sha = store.put(b"x")
    finally:
        os.umask(old)
    assert mode(store.path(sha)) == 0o600
    assert mode(store.path(sha).parent) == 0o700


def _chunks(data: bytes, size: int) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def test_put_stream(tmp_path: Path) -> None:
    store = RawStore(tmp_path)
    sha, size = store.put_stream(_chunks(DATA, 7), max_bytes=len(DATA))
    assert (sha, size) == (SHA, len(DATA))
    assert store.read(sha) == DATA
    assert mode(store.path(sha)) == 0o600
    # the same bytes again: same address, nothing new
    assert store.put_stream(_chunks(DATA, 3), max_bytes=10_000) == (SHA, len(DATA))
    assert leftovers(tmp_path) == []


def test_put_stream_over_the_cap_stops_early_and_leaves_nothing(tmp_path: Path) -> None:
    store = RawStore(tmp_path)
    pulled: list[int] = []

    def endless() -> Iterator[bytes]:
        while True:
            pulled.append(1)
            yield b"x" * 1024

    with pytest.raises(FileTooLarge) as info:
        store.put_stream(endless(), max_bytes=10 * 1024)
    assert isinstance(info.value, PayloadTooLarge)
    assert info.value.code == "file-too-large"
    assert len(pulled) == 11  # stopped at the first chunk over the cap
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_put_stream_failing_source_leaves_nothing(tmp_path: Path) -> None:
    store = RawStore(tmp_path)

    def broken() -> Iterator[bytes]:
        yield b"abc"
        raise ConnectionError("client went away")

    with pytest.raises(ConnectionError):
        store.put_stream(broken(), max_bytes=100)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_delete(tmp_path: Path) -> None:
    store = RawStore(tmp_path)
    sha = store.put(DATA)
    store.delete(sha)
    assert not store.exists(sha)
    assert not store.path(sha).parent.exists()
    store.delete(sha)  # again: harmless
    with pytest.raises(FileNotFoundError):
        store.read(sha)


@pytest.mark.parametrize(
    "bad",
    [
        "../" + "a" * 61,
        "A" * 64,
        "a" * 63,
        "a" * 65,
        "/etc/passwd",
        "..",
        "",
        SHA[:62] + "/x",
        SHA + "\n",
    ],
)
def test_sha_format_is_checked(tmp_path: Path, bad: str) -> None:
    store = RawStore(tmp_path)
    for op in (store.path, store.exists, store.read, store.delete):
        with pytest.raises(ValueError):
            op(bad)
