"""uploads.receive refuses, before writing anything, what is no upload at all."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from ingest import errors, uploads
from ingest.limits import Limits
from ingest.raw_store import RawStore
from schemas.errors import PayloadTooLarge
from schemas.tables import organisations
from tests.ctcollab.conftest import FRENCH_HEADER, FRENCH_ROWS, french_csv
from tests.ingest.ingest_support import SENTINEL, assert_no_leak


@pytest.fixture
def org(engine: sa.Engine) -> int:
    with engine.begin() as conn:
        return int(conn.execute(organisations.insert().values(
            slug="ong", name="ONG")).inserted_primary_key[0])  # type: ignore[index]


def nothing_written(engine: sa.Engine, store: RawStore) -> bool:
    with engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(uploads.uploads)).scalar()
    return count == 0 and not any(p.is_file() for p in store.root.rglob("*"))


def test_header_only_is_no_upload(engine: sa.Engine, tmp_path: Path, org: int) -> None:
    store = RawStore(tmp_path / "raw")
    data = f"Registre {SENTINEL}\r\n{FRENCH_HEADER}\r\n;;;;\r\n".encode("cp1252")
    with pytest.raises(errors.NoDataRows) as info:
        uploads.receive(engine, store, org_id=org, filename="registre.csv", data=data,
                        max_bytes=10_000)
    assert info.value.code == "no-data-rows" and "no data rows" in str(info.value)
    assert_no_leak(info.value)
    assert nothing_written(engine, store)


def test_over_the_deployment_limit(engine: sa.Engine, tmp_path: Path, org: int) -> None:
    store = RawStore(tmp_path / "raw")
    data = french_csv(FRENCH_ROWS)
    with pytest.raises(errors.FileTooLarge) as info:
        uploads.receive(engine, store, org_id=org, filename="C:\\partner\\registre.csv",
                        data=data, max_bytes=100)
    assert info.value.code == "file-too-large" and isinstance(info.value, PayloadTooLarge)
    assert "registre.csv" in str(info.value) and "partner" not in str(info.value)
    assert nothing_written(engine, store)


def test_limits_reach_the_reader(engine: sa.Engine, tmp_path: Path, org: int) -> None:
    store = RawStore(tmp_path / "raw")
    with pytest.raises(errors.TooManyColumns):
        uploads.receive(engine, store, org_id=org, filename="registre.csv",
                        data=french_csv(FRENCH_ROWS), max_bytes=10_000,
                        limits=Limits(max_columns=3))
    assert nothing_written(engine, store)
    received = uploads.receive(engine, store, org_id=org, filename="registre.csv",
                               data=french_csv(FRENCH_ROWS), max_bytes=10_000)
    assert received.table is not None and len(received.table) == len(FRENCH_ROWS)
