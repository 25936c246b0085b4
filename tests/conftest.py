"""Shared fixtures: real SQLite files and real PostgreSQL schemas, real folders."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ctcollab.database import make_engine, upgrade

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CTDC_KANON = SHARED / "data" / "ctdc" / "ctdc_global_kanon_2018_individual_database.csv.gz"
POSTGRES_URL = os.environ.get("CTCOLLAB_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _postgres_available() -> str | None:
    try:
        engine = sa.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.exec_driver_sql("select 1")
        engine.dispose()
        return None
    except Exception as err:  # any failure means: not reachable
        return f"{type(err).__name__}"


@pytest.fixture(autouse=True)
def _reset_logger_levels() -> Iterator[None]:
    """The CLI quietens some loggers; run in-process (CliRunner) that must not outlive a test,
    or later tests' log captures (which check that nothing leaks) would see less."""
    yield
    for name in ("ctcollab", "alembic"):
        logging.getLogger(name).setLevel(logging.NOTSET)


@pytest.fixture(scope="session")
def postgres_reason() -> str | None:
    return _postgres_available()


def _postgres_url(reason: str | None) -> Iterator[str]:
    if reason is not None:
        if IN_CI:
            pytest.fail(f"PostgreSQL at {POSTGRES_URL} is unreachable in CI ({reason})")
        pytest.skip(f"PostgreSQL unreachable ({reason})")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    # Each test gets its own schema, so tests can run side by side and leave nothing behind.
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path,
           postgres_reason: str | None) -> Iterator[str]:
    """The URL of an empty database of each kind (SQLite file; PostgreSQL schema)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
    else:
        yield from _postgres_url(postgres_reason)


@pytest.fixture
def bare_engine(db_url: str) -> Iterator[sa.Engine]:
    """An empty, not yet migrated database of each kind."""
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(bare_engine: sa.Engine) -> sa.Engine:
    """A migrated database of each kind."""
    upgrade(bare_engine)
    return bare_engine


@pytest.fixture
def ctdc_kanon_path() -> Path:
    if not CTDC_KANON.exists():
        if IN_CI:
            pytest.fail(f"{CTDC_KANON} is missing: CI runs with ../shared beside the checkout")
        pytest.skip("../shared/data/ctdc is not beside the checkout")
    return CTDC_KANON
