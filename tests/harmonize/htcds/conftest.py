"""Fixtures for the HTCDS tests: the standard's real files (never copied into the project)."""

from __future__ import annotations

import os

import pytest

from tests.harmonize.htcds.support import STANDARD_FILES, Case, generate

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SECRET = b"htcds-test-secret-0123456789abcdef"
ORG_ID = 42


@pytest.fixture
def htcds_files() -> None:
    """The real HTCDS 2.0 files in ../shared/data/htcds: skip without them, fail in CI."""
    missing = [p.name for p in STANDARD_FILES if not p.is_file()]
    if missing:
        message = f"HTCDS reference files not available: {', '.join(missing)}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def cases() -> list[Case]:
    return generate()
