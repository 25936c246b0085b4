"""The walking skeleton end to end, on SQLite and PostgreSQL, including the bad paths."""

from __future__ import annotations

import hashlib
import json
import os
from fractions import Fraction
from pathlib import Path

import pytest
import sqlalchemy as sa
from frictionless import Package

from ctcollab import pipeline
from privacy import ledger, snapshot
from privacy.cohorts import public_domain
from privacy.noise import gaussian_measurement
from privacy.spec import load_spec, parse_spec
from schemas.errors import BudgetExceeded, InputRejected, NotFound
from schemas.tables import (
    cases,
    cohort_files,
    privacy_caps,
    privacy_spends,
    releases,
    snapshot_cases,
    uploads,
)
from tests.ctcollab.conftest import PII, french_csv
from tests.ctcollab.privacy_support import SMALL_SPEC

SMALL = parse_spec(SMALL_SPEC)


def _count(ctx: pipeline.Context, table: sa.Table) -> int:
    with ctx.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _everything_written(ctx: pipeline.Context) -> str:
    """Every byte ctcollab stored outside the raw store: database dump and release files."""
    parts = []
    with ctx.engine.connect() as conn:
        for table in (cases, uploads, releases, privacy_spends, privacy_caps, cohort_files,
                      snapshot_cases):
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
    # Every cohort of the public domain was measured (open cohorts: provisional figures,
    # each charged), and what each was charged is exactly what OpenDP's privacy maps say of
    # the measurements made: within what the spec planned per cohort, never a second list.
    spec = load_spec()
    with ctx.engine.connect() as conn:
        totals = ledger.totals(conn)
        spends = ledger.spends(conn)
        assert conn.execute(sa.select(sa.func.count()).select_from(snapshot_cases)).scalar() == 0
    domain = public_domain(spec.year_min)
    assert sorted(totals) == sorted(rel.spent) == domain and rel.spent == totals
    assert {s.product for s in spends} == {"dp-table", "dp-synthetic"}
    for cohort, spent in totals.items():
        assert 0 < spent.rho <= spec.planned_rho(), cohort
        assert spent.empty is False and spent.approx_delta == 0
    for s in spends:
        if s.product == "dp-table":
            measured = rel.path / "cohorts" / str(s.cohort) / f"{s.item}.csv"
            [scale] = {float(line.rsplit(",", 1)[1])
                       for line in measured.read_text().splitlines()[1:]}
            assert s.rho == Fraction(gaussian_measurement(scale).map(1))
    assert rel.rho_spent == max(t.rho for t in totals.values())
    assert {r["privacy"]["method"] for r in dp["resources"]} >= {"dp-table", "dp-synthetic"}
    # No k-anonymised microdata while no cohort is closed; said so, not silently left out.
    assert "k-anonymity" not in {r["privacy"]["method"] for r in dp["resources"]}
    assert [n["product"] for n in dp["ctcollab"]["not_published"]] == ["k-anonymity"]
    # The folder is complete: every table with its raw measurements, each cohort's files,
    # the documents, and checksums of every file.
    names = {r["name"] for r in dp["resources"]}
    for t in spec.dp_tables.tables:
        assert {t.name, f"{t.name}_raw"} <= names
        for cohort in domain:
            assert (rel.path / "cohorts" / str(cohort) / f"{t.name}.csv").is_file()
    for doc in ("datapackage.json", "codebook.html", "methodology.html", "SHA256SUMS"):
        assert (rel.path / doc).is_file(), doc
    sums: dict[str, str] = {}
    for line in (rel.path / "SHA256SUMS").read_text().splitlines():
        digest_, name_ = line.split("  ", 1)
        sums[name_] = digest_
    for name, digest in sums.items():
        assert hashlib.sha256((rel.path / name).read_bytes()).hexdigest() == digest, name
    assert f"cohorts/{domain[0]}/{spec.dp_tables.tables[0].name}.csv" in sums
    report = Package(str(rel.path / "datapackage.json")).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:5]


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
        cohorts = conn.execute(sa.select(cases.c.cohort).order_by(cases.c.cohort)).scalars()
        assert list(cohorts) == [2021, 2022, 2022]
    assert sorted(rows) == sorted([("TUN", "18-20"), ("LBY", "30-38"), ("NER", None)])
    # A re-uploaded case keeps the cohort it was first stored in, whatever its new year.
    moved = tmp_path / "registre-v3.csv"
    moved.write_bytes(french_csv([
        ("D-001", "12/03/2024", "Femme", "19", "Nigéria", "Tunisie", "Travail forcé", "", "")]))
    pipeline.ingest_file(ctx, "ong-test", moved, mapping=mapping)
    with ctx.engine.connect() as conn:
        assert conn.execute(sa.select(cases.c.cohort).where(
            cases.c.year_of_registration == 2024)).scalar_one() == 2021


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
    with ctx.engine.begin() as conn:
        snapshot.materialise(conn)
    assert _count(ctx, snapshot_cases) == 0
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
    good = pipeline.release(ctx, spec=SMALL, version="2026.01.01")
    before = sorted(p.name for p in ctx.settings.releases_dir.iterdir())
    with ctx.engine.connect() as conn:
        spent = ledger.totals(conn)

    from publish import documents

    def explode(*_args: object, **_kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(documents, "write_documents", explode)
    with pytest.raises(OSError):
        pipeline.release(ctx, spec=SMALL, version="2026.01.02")
    assert sorted(p.name for p in ctx.settings.releases_dir.iterdir()) == before
    assert (ctx.settings.releases_dir / "LATEST").read_text().strip() == good.version
    assert _count(ctx, releases) == 1
    with ctx.engine.connect() as conn:
        assert {r.release_id for r in conn.execute(sa.select(privacy_spends))} == {1}
        assert {r.release_id for r in conn.execute(sa.select(cohort_files))} == {1}
        assert ledger.totals(conn) == spent
    assert _count(ctx, snapshot_cases) == 0  # the materialised snapshot is not left behind
    # Nor is the lock: the next release runs, and takes the version the crash never did.
    monkeypatch.undo()
    assert pipeline.release(ctx, spec=SMALL, version="2026.01.02").version == "2026.01.02"


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
                privacy_spends)).scalar_one())
        raise OSError("killed before the rename")

    monkeypatch.setattr(publish_release, "publish_folder", crash_instead_of_rename)
    with pytest.raises(OSError):
        pipeline.release(ctx, spec=SMALL, version="2026.01.01")
    assert seen and seen[0] > 0
    assert not (ctx.settings.releases_dir / "2026.01.01").exists()
    assert not (ctx.settings.releases_dir / "LATEST").exists()
    assert not [p for p in ctx.settings.releases_dir.iterdir() if p.name.startswith(".tmp-")]


def test_a_failed_commit_publishes_nothing(
        ingested: pipeline.Context,
        monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = ingested
    real_record = ledger.record

    def record_then_fail(conn: sa.Connection, *args: object) -> None:
        real_record(conn, *args)  # type: ignore[arg-type]
        conn.execute(releases.insert().values(version="2026.01.01", spec={}))  # duplicate

    monkeypatch.setattr(ledger, "record", record_then_fail)
    with pytest.raises(sa.exc.IntegrityError):
        pipeline.release(ctx, spec=SMALL, version="2026.01.01")
    assert not (ctx.settings.releases_dir / "2026.01.01").exists()
    assert not (ctx.settings.releases_dir / "LATEST").exists()
    assert _count(ctx, privacy_spends) == 0 and _count(ctx, cohort_files) == 0
    assert _count(ctx, releases) == 0 and _count(ctx, snapshot_cases) == 0


def test_budget_cap_refuses_before_any_file_is_written(
        tmp_path: Path, db_url: str, french_file: tuple[Path, Path]) -> None:
    from ctcollab.settings import load_settings

    # The first init records the cap from the settings; from then on the database holds it.
    ctx = pipeline.init(load_settings(home=tmp_path / "h", database_url=db_url,
                                      budget_rho_cap=0.8))
    pipeline.init(load_settings(home=tmp_path / "h", database_url=db_url, budget_rho_cap=9))
    data, mapping = french_file
    pipeline.add_org(ctx, "ong-test", "ONG Test")
    pipeline.ingest_file(ctx, "ong-test", data, mapping=mapping)
    pipeline.release(ctx, spec=SMALL, version="v1")  # rho 0.5 for every cohort
    with ctx.engine.connect() as conn:
        spent = ledger.totals(conn)
    with pytest.raises(BudgetExceeded) as err:
        pipeline.release(ctx, spec=SMALL, version="v2")
    first = SMALL.year_min
    assert f"cohort {first} cannot take this release" in str(err.value)
    assert "needs rho=0.5" in str(err.value) and "only rho=0.3" in str(err.value)
    assert sorted(p.name for p in ctx.settings.releases_dir.iterdir()) == ["LATEST", "v1"]
    with ctx.engine.connect() as conn:
        assert ledger.totals(conn) == spent
        assert [r.version for r in conn.execute(sa.select(releases.c.version))] == ["v1"]
    assert _count(ctx, snapshot_cases) == 0
    # Only an explicit, recorded change of the cap makes room.
    cap = pipeline.set_cap(ctx, 1.5, 1e-6, None, reason="test: one more release")
    assert cap.rho == Fraction(3, 2)
    pipeline.release(ctx, spec=SMALL, version="v2")
    with ctx.engine.connect() as conn:
        assert [c.reason for c in ledger.cap_history(conn)] == ["initial cap",
                                                                 "test: one more release"]
