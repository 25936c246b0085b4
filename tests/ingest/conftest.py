"""Fixtures for the ingest tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., bytes]:
    """write(name, data) → bytes read back from a real file in tmp_path (bytes or text+encoding)."""

    def _write(name: str, data: bytes | str, encoding: str = "utf-8") -> bytes:
        path = tmp_path / name
        if isinstance(data, str):
            path.write_text(data, encoding=encoding, newline="")
        else:
            path.write_bytes(data)
        return path.read_bytes()

    return _write
