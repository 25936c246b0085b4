"""Storage: Alembic migrations produce exactly the derived tables, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from ctcollab.database import current_revision, head_revision, is_current, upgrade
from schemas.tables import metadata


def test_migrations_reach_head_and_match_the_metadata(bare_engine: sa.Engine) -> None:
    assert current_revision(bare_engine) is None
    upgrade(bare_engine)
    assert is_current(bare_engine)
    assert current_revision(bare_engine) == head_revision()
    with bare_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                metadata)
    assert diff == []


def test_upgrade_is_idempotent(engine: sa.Engine) -> None:
    upgrade(engine)
    assert is_current(engine)
    names = set(sa.inspect(engine).get_table_names())
    assert {"organisations", "api_keys", "uploads", "cases", "releases", "budget_ledger"} <= names


def test_foreign_keys_are_enforced(engine: sa.Engine) -> None:
    from schemas.tables import api_keys

    try:
        with engine.begin() as conn:
            conn.execute(api_keys.insert().values(org_id=999, key_hash="x" * 64, prefix="p"))
    except sa.exc.IntegrityError:
        return
    raise AssertionError("an API key for a missing organisation was accepted")
