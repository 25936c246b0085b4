"""The release lock: one release at a time, across processes, on SQLite and PostgreSQL."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from schemas.errors import Conflict

# Check the budget, measure, record: without a lock two releases started together both pass
# the check and together spend more than the cap. On PostgreSQL a session-level advisory lock
# (held on a connection of its own for the whole release) serialises them across hosts; on
# SQLite, whose database is a local file, an flock on a file beside it does, without holding
# SQLite's own write lock (which would block every upload for the length of a release).
ADVISORY_KEY = 0x63746331  # "ctc1"
WAIT_SECONDS = 600.0
POLL_SECONDS = 0.2


def _lock_file(engine: sa.Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise Conflict("releases need a database file (an in-memory SQLite cannot be locked)")
    return Path(database).with_name(Path(database).name + ".release-lock")


@contextmanager
def release_lock(engine: sa.Engine, wait: float = WAIT_SECONDS) -> Iterator[None]:
    """Hold the collaborative's release lock; wait up to ``wait`` seconds for another release."""
    deadline = time.monotonic() + wait
    busy = Conflict("another release is running; try again when it has finished")
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            while not conn.execute(sa.select(sa.func.pg_try_advisory_lock(ADVISORY_KEY))
                                   ).scalar_one():
                conn.rollback()
                if time.monotonic() > deadline:
                    raise busy
                time.sleep(POLL_SECONDS)
            conn.commit()
            try:
                yield
            finally:
                conn.execute(sa.select(sa.func.pg_advisory_unlock(ADVISORY_KEY)))
                conn.commit()
        return
    path = _lock_file(engine)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise busy from None
                time.sleep(POLL_SECONDS)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
