"""The secure zone on disk: HOME is 0700, the SQLite database and its journals 0600."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ctcollab import pipeline
from ctcollab.database import make_engine, secure_sqlite_file
from ctcollab.settings import load_settings


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    """The usual umask (0022: new files world-readable), so that only the code can make the
    files private."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_makes_home_0700_and_the_database_and_its_journals_0600(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ctx = pipeline.init(load_settings(home=home))
    pipeline.add_org(ctx, "ong-test", "ONG Test")  # a write: the WAL and its index exist
    db = home / "ctcollab.db"
    with ctx.engine.connect() as conn:  # held open, so SQLite keeps -wal and -shm on disk
        conn.execute(sa.text("SELECT count(*) FROM organisations")).scalar_one()
        assert _mode(home) == 0o700
        for path in (db, db.with_name("ctcollab.db-wal"), db.with_name("ctcollab.db-shm")):
            assert path.is_file(), path.name
            assert _mode(path) == 0o600, (path.name, oct(_mode(path)))
    ctx.engine.dispose()
    # The rollback journal follows the database file too (e.g. a tool that switches the
    # database out of WAL): PERSIST keeps it on disk after the write.
    raw = sqlite3.connect(db)
    try:
        raw.execute("PRAGMA journal_mode=PERSIST")
        raw.execute("INSERT INTO organisations (slug, name, named_contributor) "
                    "VALUES ('other', 'Other', 0)")
        raw.commit()
        journal = db.with_name("ctcollab.db-journal")
        assert journal.is_file() and _mode(journal) == 0o600, oct(_mode(journal))
    finally:
        raw.close()
    assert not [p.name for p in home.iterdir() if p.is_file() and _mode(p) & 0o077]


def test_an_existing_world_readable_home_and_database_are_narrowed(tmp_path: Path) -> None:
    home = tmp_path / "old-home"
    home.mkdir(mode=0o755)
    db = home / "ctcollab.db"
    sqlite3.connect(db).close()
    db.chmod(0o644)
    ctx = pipeline.init(load_settings(home=home))
    pipeline.add_org(ctx, "ong-test", "ONG Test")
    with ctx.engine.connect():
        assert _mode(home) == 0o700 and _mode(db) == 0o600
        assert _mode(db.with_name("ctcollab.db-wal")) == 0o600
    ctx.engine.dispose()


def test_a_database_outside_home_is_made_0600_in_a_new_0700_folder(tmp_path: Path) -> None:
    db = tmp_path / "elsewhere" / "data.db"
    engine = make_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
        conn.execute(sa.text("INSERT INTO t VALUES (1)"))
    assert _mode(db.parent) == 0o700 and _mode(db) == 0o600
    assert _mode(db.with_name("data.db-wal")) == 0o600
    engine.dispose()
    secure_sqlite_file(db)  # idempotent on an existing database
    assert _mode(db) == 0o600
