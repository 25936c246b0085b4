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
    assert {"organisations", "api_keys", "uploads", "cases", "releases", "privacy_caps",
            "privacy_spends", "cohorts", "cohort_files", "snapshot_cases"} <= names
    assert "budget_ledger" not in names


def test_old_spends_are_charged_to_every_cohort_present(bare_engine: sa.Engine) -> None:
    """Migrating a v1 ledger (spends per content hash): each old spend is charged to every
    cohort present, so no earlier loss is forgotten."""
    from alembic import command

    from ctcollab.database import alembic_config

    command.upgrade(alembic_config(bare_engine), "0004")
    with bare_engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO organisations (id, slug, name) VALUES (1, 'a', 'A')")
        conn.exec_driver_sql("INSERT INTO uploads (id, org_id, filename, size, sha256, status) "
                             "VALUES (1, 1, 'f', 1, 'x', 'harmonised')")
        for i, year in enumerate((2019, 2021, 2021)):
            conn.execute(sa.text(
                "INSERT INTO cases (case_key, org_id, upload_id, mapping_version, ingested_at,"
                " year_of_registration) VALUES (:k, 1, 1, 'a/1', :t, :y)"),
                {"k": f"{i:064d}", "t": "2024-05-01 10:00:00+00:00", "y": year})
        conn.exec_driver_sql("INSERT INTO releases (id, version, snapshot_hash, case_count, spec)"
                             " VALUES (1, '2024.05.01', 'abc', 3, '{}')")
        conn.exec_driver_sql("INSERT INTO budget_ledger (release_id, snapshot_hash, product, "
                             "item, rho) VALUES (1, 'abc', 'dp-table', 't', '1/4')")
    upgrade(bare_engine)
    with bare_engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT cohort, product, rho FROM privacy_spends "
                                    "ORDER BY cohort")).all()
        columns = {c["name"] for c in sa.inspect(conn).get_columns("releases")}
    assert [tuple(r) for r in rows] == [(2019, "dp-table", "1/4"), (2021, "dp-table", "1/4")]
    assert "snapshot_hash" not in columns and "case_count" not in columns


def test_foreign_keys_are_enforced(engine: sa.Engine) -> None:
    from schemas.tables import api_keys

    try:
        with engine.begin() as conn:
            conn.execute(api_keys.insert().values(org_id=999, key_hash="x" * 64, prefix="p"))
    except sa.exc.IntegrityError:
        return
    raise AssertionError("an API key for a missing organisation was accepted")
