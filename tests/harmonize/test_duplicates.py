"""Duplicates: the same person recorded twice counts once; nothing is merged or lost."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from ctcollab import pipeline
from privacy.counts import exact_counts
from schemas.tables import cases

MAPPING = """\
mapping_version: "{org}/1"
case_id: "Case ID"
linkage: ["Name", "Date of birth"]
fields:
  year_of_registration: {{column: "Registered"}}
  gender: {{column: "Sex"}}
  citizenship: {{column: "Nationality"}}
"""
HEADER = "Case ID,Name,Date of birth,Registered,Sex,Nationality\n"


def _ingest(ctx: pipeline.Context, tmp_path: Path, org: str, rows: list[str]) -> int:
    data = tmp_path / f"{org}-{len(rows)}.csv"
    data.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    mapping = tmp_path / f"{org}.yaml"
    mapping.write_text(MAPPING.format(org=org), encoding="utf-8")
    return pipeline.ingest_file(ctx, org, data, mapping=mapping).upload_id


@pytest.fixture
def two_orgs(ctx: pipeline.Context) -> pipeline.Context:
    pipeline.add_org(ctx, "org-a", "A")
    pipeline.add_org(ctx, "org-b", "B")
    return ctx


def _counted(ctx: pipeline.Context) -> int:
    with ctx.engine.connect() as conn:
        return sum(exact_counts(conn, ("gender",), 2015).values())


def test_the_same_person_at_two_organisations_counts_once(two_orgs: pipeline.Context,
                                                          tmp_path: Path) -> None:
    ctx = two_orgs
    up_a = _ingest(ctx, tmp_path, "org-a", ["A1,Aminata Diallo,12/03/1999,2021,F,Mali",
                                            "A2,Fatou Sow,01/01/2001,2021,F,Senegal"])
    _ingest(ctx, tmp_path, "org-b", ["B7,AMINATA  DIALLO,12/03/1999,2022,Female,Mali",
                                            "B8,Aminata Diallo,12/03/1999,2022,Male,Mali"])
    with ctx.engine.connect() as conn:
        rows = conn.execute(sa.select(cases.c.case_key, cases.c.duplicate_of,
                                      cases.c.linkage_key)).all()
    assert len(rows) == 4  # nothing merged, nothing deleted
    marked = [r for r in rows if r.duplicate_of]
    assert len(marked) == 1  # B7 (agreeing); B8 disagrees on gender: another person
    assert _counted(ctx) == 3
    # The name and birth date are nowhere in the database.
    with ctx.engine.connect() as conn:
        dump = repr(conn.execute(sa.select(cases)).all())
    assert "Aminata" not in dump and "1999" not in dump

    # Withdrawing org A's upload makes org B's record the person's primary record.
    pipeline.withdraw(ctx, "org-a", up_a)
    with ctx.engine.connect() as conn:
        left = conn.execute(sa.select(cases.c.duplicate_of)).all()
    assert all(r.duplicate_of is None for r in left)
    assert _counted(ctx) == 2


def test_records_without_linkage_data_are_never_marked(two_orgs: pipeline.Context,
                                                       tmp_path: Path) -> None:
    _ingest(two_orgs, tmp_path, "org-a", ["A1,,,2021,F,Mali", "A2,,,2021,F,Mali"])
    with two_orgs.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).where(
            cases.c.duplicate_of.is_not(None))).scalar_one() == 0
    assert _counted(two_orgs) == 2
