"""The walking skeleton end to end, on SQLite and PostgreSQL, including the bad paths."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from ctcollab import pipeline
from schemas.errors import BudgetExceeded, InputRejected, NotFound
from schemas.tables import budget_ledger, cases, releases, uploads
from tests.ctcollab.conftest import PII, french_csv


def _count(ctx: pipeline.Context, table: sa.Table) -> int:
    with ctx.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _everything_written(ctx: pipeline.Context) -> str:
    """Every byte ctcollab stored outside the raw store: database dump and release files."""
    parts = []
    with ctx.engine.connect() as conn:
        for table in (cases, uploads, releases, budget_ledger):
            parts += [repr(tuple(r)) for r in conn.execute(sa.select(table))]
    for root, _dirs, files in os.walk(ctx.settings.releases_dir):
        for name in files:
            parts.append(Path(root, name).read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts)


def test_ingest_french_csv_to_release(ctx: pipeline.Context,
                                      french_file: tuple[Path, Path]) -> None:
    data, mapping = french_file
    pipeline.add_org(ctx, "ong-test", "ONG Test", named_contributor=True)
    result = pipeline.ingest_file(ctx, "ong-test", data, mapping=mapping)
    report = result.report
    assert (report["rows_read"], report["rows_accepted"], report["rows_quarantined"]) == (4, 3, 1)
    assert report["quarantined_by_reason"] == {"date-unparseable": 1}
    assert report["columns_dropped"] == ["Nom", "Téléphone"]
    with ctx.engine.connect() as conn:
        stored = conn.execute(sa.select(cases).order_by(cases.c.year_of_registration,
                                                        cases.c.gender)).mappings().all()
    assert len(stored) == 3
    assert {r["country_of_exploitation"] for r in stored} == {"LBY", "NER"}
    assert {r["gender"] for r in stored} == {"female", "male", "unknown"}

    rel = pipeline.release(ctx)
    assert rel.path == ctx.settings.releases_dir / rel.version
    assert (ctx.settings.releases_dir / "LATEST").read_text().strip() == rel.version
    dp = json.loads((rel.path / "datapackage.json").read_text())
    assert dp["contributors"] == [{"title": "ONG Test", "roles": ["contributor"]}]
    # No name, phone or local case id was stored or published anywhere.
    written = _everything_written(ctx)
    for value in PII:
        assert value not in written
    # The ledger holds exactly what the spec planned: every table and the synthesizer.
    from fractions import Fraction

    from privacy.spec import load_spec

    with ctx.engine.connect() as conn:
        spent = sum(Fraction(r.rho) for r in conn.execute(sa.select(budget_ledger)))
        products = {r.product for r in conn.execute(sa.select(budget_ledger))}
    assert spent == load_spec().planned_rho()
    assert products == {"dp-table", "dp-synthetic"}
    assert {r["privacy"]["method"] for r in dp["resources"]} >= {"dp-table", "dp-synthetic"}


def test_same_bytes_twice_are_recognised(ctx: pipeline.Context,
                                         french_file: tuple[Path, Path]) -> None:
    data, mapping = french_file
    pipeline.add_org(ctx, "ong-test", "ONG Test")
    first = pipeline.ingest_file(ctx, "ong-test", data, mapping=mapping)
    second = pipeline.ingest_file(ctx, "ong-test", data, mapping=mapping)
    assert second.duplicate and second.upload_id == first.upload_id
    assert _count(ctx, uploads) == 1


def test_reupload_replaces_the_organisations_cases(ctx: pipeline.Context, tmp_path: Path,
                                                  french_file: tuple[Path, Path]) -> None:
    data, mapping = french_file
    pipeline.add_org(ctx, "ong-test", "ONG Test")
    pipeline.ingest_file(ctx, "ong-test", data, mapping=mapping)
    corrected = tmp_path / "registre-v2.csv"
    corrected.write_bytes(french_csv([
        ("D-001", "12/03/2021", "Femme", "19", "Nigéria", "Tunisie", "Travail forcé", "", "")]))
    pipeline.ingest_file(ctx, "ong-test", corrected, mapping=mapping)
    with ctx.engine.connect() as conn:
        rows = conn.execute(sa.select(cases.c.country_of_exploitation, cases.c.age_broad)).all()
    assert sorted(rows) == sorted([("TUN", "18-20"), ("LBY", "30-38"), ("NER", None)])


def test_a_rejected_file_writes_nothing(ctx: pipeline.Context, tmp_path: Path,
                                        french_file: tuple[Path, Path]) -> None:
    _, mapping = french_file
    pipeline.add_org(ctx, "ong-test", "ONG Test")
    bad = tmp_path / "wrong.csv"
    bad.write_bytes("Case;Other\r\nX-SECRET-1;y\r\n".encode("cp1252"))
    with pytest.raises(InputRejected) as err:
        pipeline.ingest_file(ctx, "ong-test", bad, mapping=mapping)
    assert "X-SECRET-1" not in str(err.value)
    assert _count(ctx, uploads) == 0 and _count(ctx, cases) == 0
    assert not any(p.is_file() for p in ctx.settings.raw_dir.rglob("*"))


def test_unknown_organisation_is_not_found(ctx: pipeline.Context,
                                           french_file: tuple[Path, Path]) -> None:
    data, mapping = french_file
    with pytest.raises(NotFound):
        pipeline.ingest_file(ctx, "nobody", data, mapping=mapping)


def test_withdrawing_removes_cases_from_the_next_snapshot(
        ctx: pipeline.Context, french_file: tuple[Path, Path]) -> None:
    data, mapping = french_file
    pipeline.add_org(ctx, "ong-test", "ONG Test")
    up = pipeline.ingest_file(ctx, "ong-test", data, mapping=mapping)
    assert pipeline.withdraw(ctx, "ong-test", up.upload_id) == 3
    assert _count(ctx, cases) == 0
    pipeline.add_org(ctx, "other", "Other")
    with pytest.raises(NotFound):
        pipeline.withdraw(ctx, "other", up.upload_id)


@pytest.fixture
def ingested(ctx: pipeline.Context, french_file: tuple[Path, Path]) -> pipeline.Context:
    """The pipeline with one organisation and its French extract ingested."""
    data, mapping = french_file
    pipeline.add_org(ctx, "ong-test", "ONG Test")
    pipeline.ingest_file(ctx, "ong-test", data, mapping=mapping)
    return ctx


def test_a_crash_mid_release_leaves_the_last_good_release(
        ingested: pipeline.Context,
        monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = ingested
    good = pipeline.release(ctx, version="2026.01.01")
    before = sorted(p.name for p in ctx.settings.releases_dir.iterdir())

    from publish import documents

    def explode(*_args: object, **_kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(documents, "write_documents", explode)
    with pytest.raises(OSError):
        pipeline.release(ctx, version="2026.01.02")
    assert sorted(p.name for p in ctx.settings.releases_dir.iterdir()) == before
    assert (ctx.settings.releases_dir / "LATEST").read_text().strip() == good.version
    assert _count(ctx, releases) == 1
    with ctx.engine.connect() as conn:
        assert {r.release_id for r in conn.execute(sa.select(budget_ledger))} == {1}


def test_the_spend_is_on_record_before_the_folder_appears(
        ingested: pipeline.Context,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash between the commit and the rename costs budget but never leaks unrecorded."""
    ctx = ingested
    from publish import release as publish_release

    seen: list[int] = []

    def crash_instead_of_rename(*_args: object) -> None:
        with ctx.engine.connect() as conn:  # another connection: sees only what is committed
            seen.append(conn.execute(sa.select(sa.func.count()).select_from(
                budget_ledger)).scalar_one())
        raise OSError("killed before the rename")

    monkeypatch.setattr(publish_release, "publish_folder", crash_instead_of_rename)
    with pytest.raises(OSError):
        pipeline.release(ctx, version="2026.01.01")
    assert seen and seen[0] > 0
    assert not (ctx.settings.releases_dir / "2026.01.01").exists()
    assert not (ctx.settings.releases_dir / "LATEST").exists()
    assert not [p for p in ctx.settings.releases_dir.iterdir() if p.name.startswith(".tmp-")]


def test_a_failed_commit_publishes_nothing(
        ingested: pipeline.Context,
        monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = ingested
    from privacy import ledger

    real_record = ledger.record

    def record_then_fail(conn: sa.Connection, *args: object) -> None:
        real_record(conn, *args)  # type: ignore[arg-type]
        conn.execute(releases.insert().values(version="2026.01.01", snapshot_hash="x",
                                              case_count=0, spec={}))  # duplicate version

    monkeypatch.setattr(ledger, "record", record_then_fail)
    with pytest.raises(sa.exc.IntegrityError):
        pipeline.release(ctx, version="2026.01.01")
    assert not (ctx.settings.releases_dir / "2026.01.01").exists()
    assert not (ctx.settings.releases_dir / "LATEST").exists()
    assert _count(ctx, budget_ledger) == 0


def test_budget_cap_refuses_before_any_file_is_written(
        tmp_path: Path, db_url: str, french_file: tuple[Path, Path]) -> None:
    from ctcollab.settings import load_settings

    ctx = pipeline.init(load_settings(home=tmp_path / "h", database_url=db_url,
                                      budget_rho_cap=1.2))
    data, mapping = french_file
    pipeline.add_org(ctx, "ong-test", "ONG Test")
    pipeline.ingest_file(ctx, "ong-test", data, mapping=mapping)
    pipeline.release(ctx, version="v1")  # default spec spends rho = 1.0 (tables + synthetic)
    with pytest.raises(BudgetExceeded):
        pipeline.release(ctx, version="v2")
    assert sorted(p.name for p in ctx.settings.releases_dir.iterdir()) == ["LATEST", "v1"]
