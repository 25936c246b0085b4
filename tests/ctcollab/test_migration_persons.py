"""Migration 0005 (persons) on SQLite and PostgreSQL: existing records get their cohort by the
store-time rule, a duplicate its person's cohort; the schema then matches the derived table."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from ctcollab.database import alembic_config, upgrade
from schemas.tables import metadata

OLD_CASES = sa.table(
    "cases", sa.column("case_key", sa.String), sa.column("org_id", sa.Integer),
    sa.column("upload_id", sa.Integer), sa.column("mapping_version", sa.String),
    sa.column("ingested_at", sa.DateTime(timezone=True)),
    sa.column("year_of_registration", sa.SmallInteger), sa.column("linkage_key", sa.String),
    sa.column("duplicate_of", sa.String))


def _seed(engine: sa.Engine) -> None:
    def at(year: int, month: int = 6) -> datetime:
        return datetime(year, month, 1, 12, tzinfo=UTC)

    rows = [
        ("a", at(2024), 2021, "k1", None),  # registered 2021, received 2024: cohort 2021
        ("b", at(2024, 1), None, None, None),  # no year supplied: the year received
        ("c", at(2023), 2025, None, None),  # registered "after" it was received: 2023
        ("d", at(2025), 2019, "k1", "a"),  # a duplicate of a: a's cohort, not its own
    ]
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO organisations (id, slug, name) VALUES (1, 'o', 'O')"))
        conn.execute(sa.text(
            "INSERT INTO uploads (id, org_id, filename, size, sha256, status) "
            "VALUES (1, 1, 'f.csv', 1, :sha, 'harmonised')"), {"sha": "0" * 64})
        conn.execute(OLD_CASES.insert(), [
            {"case_key": k * 64, "org_id": 1, "upload_id": 1, "mapping_version": "o/1",
             "ingested_at": when, "year_of_registration": year,
             "linkage_key": key and key * 32, "duplicate_of": dup and dup * 64}
            for k, when, year, key, dup in rows])


def test_0005_backfills_cohorts_and_reaches_the_derived_schema(bare_engine: sa.Engine) -> None:
    cfg = alembic_config(bare_engine)
    command.upgrade(cfg, "0004")
    _seed(bare_engine)
    command.upgrade(cfg, "0005")
    with bare_engine.connect() as conn:
        got: dict[str, int] = dict(conn.execute(  # type: ignore[arg-type]
            sa.text("SELECT substr(case_key, 1, 1), cohort FROM cases")).all())
        years = conn.execute(sa.text("SELECT linkage_key_year FROM cases")).scalars().all()
    assert got == {"a": 2021, "b": 2024, "c": 2023, "d": 2021}
    assert years == [None] * 4  # names were never stored: no year key can be computed
    inspector = sa.inspect(bare_engine)
    columns = {c["name"]: c for c in inspector.get_columns("cases")}
    assert columns["cohort"]["nullable"] is False
    indexes = {i["name"] for i in inspector.get_indexes("cases")}
    assert {"ix_cases_cohort", "ix_cases_linkage_key_year"} <= indexes

    # Down again (later revisions refuse to): the two columns go, the records stay.
    command.downgrade(cfg, "0004")
    left = {c["name"] for c in sa.inspect(bare_engine).get_columns("cases")}
    assert not {"cohort", "linkage_key_year"} & left
    with bare_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM cases")).scalar_one() == 4

    # Up to head: the cases table is exactly what schemas/ derives.
    upgrade(bare_engine)
    with bare_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                metadata)
        got = dict(conn.execute(  # type: ignore[arg-type]
            sa.text("SELECT substr(case_key, 1, 1), cohort FROM cases")).all())
    assert [d for d in diff if "'cases'" in repr(d) or "cases." in repr(d)] == []
    assert got == {"a": 2021, "b": 2024, "c": 2023, "d": 2021}
