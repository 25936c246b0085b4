"""The database engine and schema migrations (Alembic) for SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from schemas.errors import ConfigurationError

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str, **kwargs: Any) -> sa.Engine:
    """Create an engine; SQLite gets foreign keys and WAL so readers never block the writer."""
    try:
        engine = sa.create_engine(url, **kwargs)
    except (sa.exc.ArgumentError, ImportError) as err:
        raise ConfigurationError("invalid setting CTCOLLAB_DATABASE_URL: not a usable "
                                 "SQLAlchemy URL") from err
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            secure_sqlite_file(Path(database))

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.close()

    return engine


# SQLite's journals: rollback journal, write-ahead log and its shared-memory index.
SQLITE_SIDECARS = ("-journal", "-wal", "-shm")


def secure_sqlite_file(path: Path) -> None:
    """Create the database file readable by its owner only (0600), before SQLite opens it.

    SQLite creates its journal, WAL and shared-memory files with the permissions of the
    database file, so they follow; a database (or journal) made world-readable by an older
    version is narrowed here too. A new parent folder is made 0700.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for target in (path, *(path.with_name(path.name + s) for s in SQLITE_SIDECARS)):
        with contextlib.suppress(FileNotFoundError):
            if target.stat().st_mode & 0o077:
                target.chmod(0o600)


def alembic_config(engine: sa.Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: sa.Engine) -> None:
    """Bring the database to the newest migration (idempotent, quiet when nothing to do)."""
    if is_current(engine):
        return
    command.upgrade(alembic_config(engine), "head")


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def is_current(engine: sa.Engine) -> bool:
    return current_revision(engine) == head_revision()
