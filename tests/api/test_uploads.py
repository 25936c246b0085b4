"""The partner upload API through the real ASGI app, on SQLite and PostgreSQL: keys, isolation
between organisations, streaming with a hard cap, rejection without a trace, the worker."""

from __future__ import annotations

import gc
import threading
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import sqlalchemy as sa

from api.app import create_app
from ctcollab import pipeline
from schemas.tables import cases, uploads
from tests.api.conftest import PartnerSetup
from tests.api.support import (
    FRENCH,
    add_partner,
    case_count,
    raw_files,
    upload_count,
    wait_for_status,
)
from tests.ctcollab.conftest import PII, french_csv

PROBLEM = "application/problem+json"


def _post(setup: PartnerSetup, key_headers: dict[str, str], data: bytes = FRENCH,
          name: str = "registre.csv") -> httpx.Response:
    response: httpx.Response = setup.client.post("/api/v1/uploads", headers=key_headers,
                                                 files={"file": (name, data, "text/csv")})
    return response


def _harmonised(setup: PartnerSetup) -> dict[str, Any]:
    r = _post(setup, setup.a.auth)
    assert r.status_code == 202, r.text
    return wait_for_status(setup.client.get, r.json()["url"], setup.a.auth)


def test_upload_is_accepted_then_harmonised_with_its_report(partners: PartnerSetup) -> None:
    r = _post(partners, partners.a.auth)
    assert r.status_code == 202
    body = r.json()
    assert body["status"] == "parsed" and body["filename"] == "registre.csv"
    assert r.headers["location"] == body["url"] == f"/api/v1/uploads/{body['id']}"
    done = wait_for_status(partners.client.get, body["url"], partners.a.auth)
    assert done["status"] == "harmonised"
    assert (done["rows_read"], done["rows_accepted"], done["rows_quarantined"]) == (4, 3, 1)
    report = done["report"]
    assert report["quarantined_by_reason"] == {"date-unparseable": 1}
    assert report["columns_dropped"] == ["Nom", "Téléphone"]
    assert case_count(partners.engine, body["id"]) == 3
    listed = partners.client.get("/api/v1/uploads", headers=partners.a.auth).json()["uploads"]
    assert [u["id"] for u in listed] == [body["id"]]
    # Names, phone numbers and local case ids appear nowhere in what the partner API sends.
    for value in PII:
        assert value not in r.text and value not in str(done)


def test_the_same_file_again_is_the_same_upload(partners: PartnerSetup) -> None:
    first = _harmonised(partners)
    again = _post(partners, partners.a.auth)
    assert again.status_code == 200 and again.json()["id"] == first["id"]
    assert upload_count(partners.engine) == 1


def test_a_raw_body_upload_is_named_by_the_query(partners: PartnerSetup) -> None:
    r = partners.client.post("/api/v1/uploads?filename=extrait%20mars.csv", content=FRENCH,
                             headers={**partners.a.auth, "Content-Type": "text/csv"})
    assert r.status_code == 202, r.text
    assert r.json()["filename"] == "extrait mars.csv"
    assert wait_for_status(partners.client.get, r.json()["url"],
                           partners.a.auth)["status"] == "harmonised"


def test_without_a_mapping_the_upload_is_rejected_with_a_reason(partners: PartnerSetup,
                                                               tmp_path: Path) -> None:
    c = add_partner(partners.ctx, "ong-c", mapping=None)
    r = _post(partners, c.auth)
    assert r.status_code == 202
    done = wait_for_status(partners.client.get, r.json()["url"], c.auth)
    assert done["status"] == "rejected" and done["error_code"] == "no-mapping"
    assert "mapping" in done["report"]["error"]["detail"]
    assert raw_files(partners.config.raw_dir or tmp_path) == []  # its bytes were not kept


# --- keys -------------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer "}, {"Authorization": "Bearer ctc_not-a-key"},
    {"Authorization": "Basic dXNlcjpwYXNz"}])
def test_missing_or_unknown_key_is_401(partners: PartnerSetup,
                                       headers: dict[str, str]) -> None:
    for method, url in (("GET", "/api/v1/uploads"), ("GET", "/api/v1/uploads/1"),
                        ("DELETE", "/api/v1/uploads/1"), ("GET", "/api/v1/organisation")):
        r = partners.client.request(method, url, headers=headers)
        assert r.status_code == 401, (method, url)
        assert r.headers["content-type"] == PROBLEM
        assert r.headers["www-authenticate"].startswith("Bearer")
    r = _post(partners, headers)
    assert r.status_code == 401 and upload_count(partners.engine) == 0
    assert raw_files(partners.config.raw_dir or Path()) == []  # refused before reading


def test_a_revoked_key_is_401_and_a_new_key_works(partners: PartnerSetup) -> None:
    assert partners.client.get("/api/v1/organisation",
                               headers=partners.a.auth).json()["slug"] == "ong-a"
    fresh = pipeline.new_key(partners.ctx, "ong-a")
    assert pipeline.revoke_key(partners.ctx, "ong-a", partners.a.key[:12]) == 1
    r = partners.client.get("/api/v1/uploads", headers=partners.a.auth)
    assert r.status_code == 401 and r.json()["type"].endswith("/unauthorized")
    assert _post(partners, partners.a.auth).status_code == 401
    ok = partners.client.get("/api/v1/uploads", headers={"Authorization": f"Bearer {fresh}"})
    assert ok.status_code == 200


# --- isolation ----------------------------------------------------------------------------------


def test_another_organisations_upload_is_404_on_every_route(partners: PartnerSetup) -> None:
    done = _harmonised(partners)
    url, b = str(done["url"]), partners.b.auth
    not_found = [partners.client.get(url, headers=b),
                 partners.client.delete(url, headers=b)]
    for r in not_found:
        assert r.status_code == 404 and r.headers["content-type"] == PROBLEM
        assert "registre" not in r.text
    # The same answer as for an upload that does not exist at all.
    missing = partners.client.get("/api/v1/uploads/999999", headers=b).json()
    theirs = not_found[0].json()
    assert missing["detail"].replace("999999", str(done["id"])) == theirs["detail"]
    assert {k: v for k, v in missing.items() if k != "detail"} == {
        k: v for k, v in theirs.items() if k != "detail"}
    assert partners.client.get("/api/v1/uploads", headers=b).json() == {"uploads": []}
    assert partners.client.get("/api/v1/uploads?status=harmonised",
                               headers=b).json() == {"uploads": []}
    # B's identical file is B's own upload, not A's: no duplicate across organisations.
    r = _post(partners, b)
    assert r.status_code == 202 and r.json()["id"] != done["id"]
    # A's upload was not touched by B's attempts.
    mine = partners.client.get(url, headers=partners.a.auth).json()
    assert mine["status"] == "harmonised" and case_count(partners.engine, int(done["id"])) == 3


def test_the_organisation_comes_from_the_key_not_the_request(partners: PartnerSetup) -> None:
    refused = partners.client.post(
        f"/api/v1/uploads?org_id={partners.b.org_id}", headers=partners.a.auth,
        files={"file": ("registre.csv", FRENCH, "text/csv")})
    assert refused.status_code == 400 and "org_id" in refused.json()["detail"]
    assert upload_count(partners.engine) == 0
    r = partners.client.post(
        "/api/v1/uploads", headers={**partners.a.auth, "X-Org": "ong-b"},
        files={"file": ("registre.csv", FRENCH, "text/csv"),
               "org_id": (None, str(partners.b.org_id))})
    assert r.status_code == 202
    with partners.engine.connect() as conn:
        owner = conn.execute(sa.select(uploads.c.org_id)
                             .where(uploads.c.id == r.json()["id"])).scalar_one()
    assert owner == partners.a.org_id


# --- bad uploads ------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "name", "code"), [
    (b"%PDF-1.7\n" + b"x" * 500, "registre.csv", "unsupported-format"),
    (b"", "vide.csv", "empty-file"),
    (b"   \n\n", "blanc.csv", "empty-file"),
    (b"PK\x03\x04" + b"\0" * 200, "classeur.xlsx", "corrupt-file"),
])
def test_a_malformed_file_is_422_with_a_reason_and_nothing_is_stored(
        partners: PartnerSetup, data: bytes, name: str, code: str) -> None:
    r = _post(partners, partners.a.auth, data, name)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["type"] == f"https://ctcollab.org/problems/{code}", body
    assert body["status"] == 422 and name in body["detail"] and body["title"]
    assert "Traceback" not in r.text
    assert upload_count(partners.engine) == 0
    assert raw_files(partners.config.raw_dir or Path()) == []


def test_a_row_too_long_names_the_row_not_the_values(partners: PartnerSetup) -> None:
    data = french_csv([("D-9", "01/01/2022", "Femme", "30", "Mali", "Libye", "Travail forcé",
                        "Aminata Diallo", "+218 91 234 5678", "EXTRA-CELL")])
    r = _post(partners, partners.a.auth, data)
    assert r.status_code == 422
    assert r.json()["type"].endswith("/row-too-long")
    for value in ("Aminata", "+218", "EXTRA-CELL", "D-9"):
        assert value not in r.text
    assert upload_count(partners.engine) == 0 and raw_files(partners.config.raw_dir
                                                            or Path()) == []


def test_a_multipart_body_without_a_file_field_is_400(partners: PartnerSetup) -> None:
    r = partners.client.post("/api/v1/uploads", headers=partners.a.auth,
                             files={"document": ("registre.csv", FRENCH, "text/csv")})
    assert r.status_code == 400 and r.json()["type"].endswith("/missing-file")
    assert upload_count(partners.engine) == 0 and raw_files(partners.config.raw_dir
                                                            or Path()) == []


def test_a_declared_oversized_body_is_413_before_reading(partners: PartnerSetup) -> None:
    r = partners.client.post("/api/v1/uploads?filename=big.csv", headers={
        **partners.a.auth, "Content-Type": "text/csv"}, content=b"a;b\n" * 400_000)
    assert r.status_code == 413 and r.headers["content-type"] == PROBLEM
    assert r.json()["type"].endswith("/file-too-large") and "1 MB" in r.json()["detail"]
    assert upload_count(partners.engine) == 0 and raw_files(partners.config.raw_dir
                                                            or Path()) == []


def test_a_streamed_oversized_body_is_413_without_memory_growth(
        partners: PartnerSetup) -> None:
    """20 MB streamed (no Content-Length) against a 1 MB cap: refused after about 1 MB, and
    the process never holds more than a few chunks of it."""
    app = create_app(partners.config)
    chunk = b"x;" * 32_768  # 64 KiB
    total = 20 * 1024 * 1024
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        boundary = b"--b0undary\r\n"
        yield boundary + b'Content-Disposition: form-data; name="file"; filename="big.csv"\r\n'
        yield b"Content-Type: text/csv\r\n\r\n"
        while sent < total:
            sent += len(chunk)
            yield chunk
        yield b"\r\n--b0undary--\r\n"

    async def run() -> tuple[httpx.Response, int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            gc.collect()
            tracemalloc.start()
            try:
                r = await c.post("/api/v1/uploads", content=body(), headers={
                    **partners.a.auth,
                    "Content-Type": "multipart/form-data; boundary=b0undary"})
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            return r, peak

    # In a thread of its own: a browser test's event loop may own this one.
    result: list[tuple[httpx.Response, int]] = []
    worker = threading.Thread(target=lambda: result.append(anyio.run(run)))
    worker.start()
    worker.join(120)
    r, peak = result[0]
    assert r.status_code == 413, r.text
    assert r.json()["type"].endswith("/file-too-large")
    assert sent < 3 * 1024 * 1024, "the server read far past the cap"
    print(f"streamed {sent:,} of {total:,} bytes; peak traced memory {peak:,} bytes")
    assert peak < 1024 * 1024, f"peak traced memory {peak} bytes (the cap is 1 MB)"
    assert upload_count(partners.engine) == 0 and raw_files(partners.config.raw_dir
                                                            or Path()) == []


# --- withdrawal ---------------------------------------------------------------------------------


def test_withdraw_removes_the_cases_and_the_bytes(partners: PartnerSetup) -> None:
    done = _harmonised(partners)
    upload_id = int(done["id"])
    assert case_count(partners.engine, upload_id) == 3
    r = partners.client.delete(str(done["url"]), headers=partners.a.auth)
    assert r.status_code == 200, r.text
    assert r.json()["cases_removed"] == 3 and r.json()["upload"]["status"] == "withdrawn"
    assert case_count(partners.engine, upload_id) == 0
    with partners.engine.connect() as conn:
        left = conn.execute(sa.select(sa.func.count()).select_from(cases)
                            .where(cases.c.org_id == partners.a.org_id)).scalar_one()
    assert left == 0
    assert raw_files(partners.config.raw_dir or Path()) == []
    again = partners.client.delete(str(done["url"]), headers=partners.a.auth)
    assert again.status_code == 200 and again.json()["cases_removed"] == 0
    status = partners.client.get(str(done["url"]), headers=partners.a.auth).json()["status"]
    assert status == "withdrawn"


@pytest.mark.parametrize("upload_id", ["0", "-1", "2147483648", "abc", "1.5"])
def test_bad_upload_ids_are_400_problems(partners: PartnerSetup, upload_id: str) -> None:
    r = partners.client.get(f"/api/v1/uploads/{upload_id}", headers=partners.a.auth)
    assert r.status_code == 400 and r.headers["content-type"] == PROBLEM
