"""Processing uploads: statuses, atomicity, mapping registry, identifiers withheld from reports."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from harmonize import registry
from harmonize.errors import MappingDoesNotFit
from harmonize.mapping import parse_mapping
from harmonize.process import process
from ingest import uploads
from ingest.raw_store import RawStore
from schemas.errors import Conflict
from schemas.tables import cases, organisations
from tests.ctcollab.conftest import FRENCH_MAPPING, FRENCH_ROWS, french_csv

SECRET = b"s" * 32


@pytest.fixture
def org(engine: sa.Engine) -> int:
    with engine.begin() as conn:
        return int(conn.execute(organisations.insert().values(
            slug="ong", name="ONG")).inserted_primary_key[0])  # type: ignore[index]


def _receive(engine: sa.Engine, store: RawStore, org: int, data: bytes) -> uploads.Received:
    return uploads.receive(engine, store, org_id=org, filename="../../etc/registre.csv",
                           data=data, max_bytes=10_000_000)


def test_receive_then_process_harmonises(engine: sa.Engine, tmp_path: Path, org: int) -> None:
    store = RawStore(tmp_path / "raw")
    got = _receive(engine, store, org, french_csv(FRENCH_ROWS))
    assert got.upload.status == uploads.PARSED and got.upload.filename == "registre.csv"
    assert store.exists(got.upload.sha256)
    done = process(engine, store, got.upload, parse_mapping(FRENCH_MAPPING), secret=SECRET)
    assert done.status == uploads.HARMONISED
    assert (done.rows_read, done.rows_accepted, done.rows_quarantined) == (4, 3, 1)
    # The raw bytes are read back from the store when no table is handed over.
    again = _receive(engine, store, org, french_csv(FRENCH_ROWS))
    assert again.duplicate and again.upload.id == got.upload.id


def test_a_rejected_upload_stores_no_case(engine: sa.Engine, tmp_path: Path, org: int) -> None:
    store = RawStore(tmp_path / "raw")
    got = _receive(engine, store, org, b"Colonne;Autre\r\nX-SECRET;y\r\n")
    with pytest.raises(MappingDoesNotFit):
        process(engine, store, got.upload, parse_mapping(FRENCH_MAPPING), secret=SECRET)
    with engine.connect() as conn:
        up = uploads.get(conn, org, got.upload.id)
        assert conn.execute(sa.select(sa.func.count()).select_from(cases)).scalar_one() == 0
    assert up.status == uploads.REJECTED and up.error_code == "mapping-does-not-fit"
    assert "X-SECRET" not in str(up.report)
    uploads.forget(engine, store, up)
    assert not store.exists(up.sha256)


def test_a_crash_while_storing_leaves_no_half_upload(engine: sa.Engine, tmp_path: Path, org: int,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from harmonize import process as process_module

    store = RawStore(tmp_path / "raw")
    got = _receive(engine, store, org, french_csv(FRENCH_ROWS))

    def half_then_crash(conn: sa.Connection, result: object, **kw: int) -> None:
        conn.execute(cases.insert().values(
            case_key="k" * 64, org_id=org, upload_id=kw["upload_id"], mapping_version="x/1",
            ingested_at=sa.func.now(), cohort=2021))
        raise RuntimeError("power cut")

    monkeypatch.setattr(process_module, "store_cases", half_then_crash)
    with pytest.raises(RuntimeError):
        process(engine, store, got.upload, parse_mapping(FRENCH_MAPPING), secret=SECRET)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(cases)).scalar_one() == 0
        assert uploads.get(conn, org, got.upload.id).status == uploads.FAILED


def test_unmapped_values_that_look_like_identifiers_are_withheld(
        engine: sa.Engine, tmp_path: Path, org: int) -> None:
    store = RawStore(tmp_path / "raw")
    rows = [("D-1", "01/01/2021", "+218 91 234 5678", "30", "Mali", "Libye", "", "", ""),
            ("D-2", "01/01/2021", "Martien", "30", "Mali", "Libye", "", "", "")]
    got = _receive(engine, store, org, french_csv(rows))
    done = process(engine, store, got.upload, parse_mapping(FRENCH_MAPPING), secret=SECRET)
    unmapped = done.report["fields"]["gender"]["unmapped_values"]  # type: ignore[index]
    assert unmapped == {"Martien": 1}


def test_registry_keeps_versions_and_refuses_changed_content(engine: sa.Engine, org: int) -> None:
    with engine.begin() as conn:
        assert registry.current(conn, org) is None
        registry.register(conn, org, FRENCH_MAPPING)
        registry.register(conn, org, FRENCH_MAPPING)  # idempotent
        with pytest.raises(Conflict):
            registry.register(conn, org, FRENCH_MAPPING.replace("%d/%m/%Y", "%m/%d/%Y"))
        newer = FRENCH_MAPPING.replace("ong-test/1", "ong-test/2")
        registry.register(conn, org, newer)
        current = registry.current(conn, org)
    assert current is not None and current.mapping_version == "ong-test/2"


def test_another_organisations_upload_is_not_found(engine: sa.Engine, tmp_path: Path,
                                                    org: int) -> None:
    from schemas.errors import NotFound

    got = _receive(engine, RawStore(tmp_path / "raw"), org, french_csv(FRENCH_ROWS))
    with engine.connect() as conn:
        with pytest.raises(NotFound):
            uploads.get(conn, org + 1, got.upload.id)
        assert uploads.list_for(conn, org + 1) == []
        assert [u.id for u in uploads.list_for(conn, org)] == [got.upload.id]
