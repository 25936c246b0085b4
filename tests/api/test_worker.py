"""The upload worker across restarts: state lives in the database, so nothing is lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.app import create_app
from schemas.tables import uploads
from tests.api.support import FRENCH, Partner, add_partner, case_count, context, partner_config
from tests.api.support import wait_for_status as wait


def _setup(engine: sa.Engine, tmp_path: Path) -> Partner:
    return add_partner(context(engine, tmp_path / "home"), "ong-a")


def _status(engine: sa.Engine, upload_id: int) -> tuple[str, str | None]:
    with engine.connect() as conn:
        row = conn.execute(sa.select(uploads.c.status, uploads.c.error_code)
                           .where(uploads.c.id == upload_id)).one()
    return row.status, row.error_code


def _accept_without_processing(engine: sa.Engine, tmp_path: Path, a: Partner) -> int:
    """An app whose worker does not run: the upload is accepted and left ``parsed``."""
    with TestClient(create_app(partner_config(engine, tmp_path, run_worker=False))) as c:
        r = c.post("/api/v1/uploads", headers=a.auth,
                   files={"file": ("registre.csv", FRENCH, "text/csv")})
        assert r.status_code == 202
    upload_id = int(r.json()["id"])
    assert _status(engine, upload_id) == ("parsed", None)
    return upload_id


def test_a_restart_resumes_a_parsed_upload(engine: sa.Engine, tmp_path: Path) -> None:
    a = _setup(engine, tmp_path)
    upload_id = _accept_without_processing(engine, tmp_path, a)
    assert case_count(engine, upload_id) == 0
    # The process "restarts": a new app over the same database and raw store.
    with TestClient(create_app(partner_config(engine, tmp_path))) as c:
        done = wait(c.get, f"/api/v1/uploads/{upload_id}", a.auth)
    assert done["status"] == "harmonised" and done["rows_accepted"] == 3
    assert case_count(engine, upload_id) == 3


def test_stale_and_interrupted_uploads_are_marked_failed(engine: sa.Engine,
                                                        tmp_path: Path) -> None:
    a = _setup(engine, tmp_path)
    stale = _accept_without_processing(engine, tmp_path, a)
    with engine.begin() as conn:
        conn.execute(uploads.update().where(uploads.c.id == stale).values(
            updated_at=datetime.now(UTC) - timedelta(days=3)))
        interrupted = conn.execute(uploads.insert().values(
            org_id=a.org_id, filename="x.csv", size=1, sha256="0" * 64, status="received",
            created_at=datetime.now(UTC), updated_at=datetime.now(UTC))
        ).inserted_primary_key[0]  # type: ignore[index]
    app = create_app(partner_config(engine, tmp_path))
    with TestClient(app) as c:
        for upload_id in (stale, interrupted):
            body = c.get(f"/api/v1/uploads/{upload_id}", headers=a.auth).json()
            assert body["status"] == "failed"
    assert _status(engine, stale) == ("failed", "stale")
    assert _status(engine, interrupted) == ("failed", "interrupted")
    assert case_count(engine, stale) == 0


def test_an_upload_withdrawn_before_processing_is_never_processed(engine: sa.Engine,
                                                                 tmp_path: Path) -> None:
    a = _setup(engine, tmp_path)
    upload_id = _accept_without_processing(engine, tmp_path, a)
    with TestClient(create_app(partner_config(engine, tmp_path, run_worker=False))) as c:
        r = c.delete(f"/api/v1/uploads/{upload_id}", headers=a.auth)
        assert r.status_code == 200 and r.json()["cases_removed"] == 0
    with TestClient(create_app(partner_config(engine, tmp_path))) as c:
        app_worker = c.app.state.worker  # type: ignore[attr-defined]
        app_worker.process_one(upload_id)  # even if asked directly
        assert c.get(f"/api/v1/uploads/{upload_id}", headers=a.auth).json()["status"] \
            == "withdrawn"
    assert case_count(engine, upload_id) == 0
