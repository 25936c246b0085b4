"""The public API over release folders: listing, detail, downloads, problem+json errors."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app


def test_healthz(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "releases": 2}


def test_list_releases_newest_first_with_latest(client: TestClient) -> None:
    body = client.get("/api/v1/releases").json()
    assert [x["version"] for x in body["releases"]] == ["2026.03.02", "2026.03.01"]
    assert body["latest"] == "2026.03.02"
    assert all(x["licence"] == "CC-BY-4.0" for x in body["releases"])


def test_release_detail_and_latest_alias(client: TestClient) -> None:
    latest = client.get("/api/v1/releases/latest").json()
    assert latest["version"] == "2026.03.02"
    assert "2026.03.02" in latest["citation"] and "CC-BY-4.0" in latest["citation"]
    names = {r["name"] for r in latest["resources"]}
    assert "victims_by_year_country" in names
    for r in latest["resources"]:
        assert r["privacy"]["method"] in ("dp-table", "k-anonymity", "dp-synthetic")
        if r["privacy"]["method"] == "dp-table":
            assert r["privacy"]["rho"] > 0 and r["table"].endswith(f"/tables/{r['name']}")


def test_download_is_immutable_with_etag(client: TestClient, releases_dir: Path) -> None:
    path = "data/victims_by_gender_age.csv"
    r = client.get(f"/api/v1/releases/2026.03.01/files/{path}")
    assert r.status_code == 200
    body = (releases_dir / "2026.03.01" / path).read_bytes()
    assert r.content == body
    assert r.headers["etag"] == f'"{hashlib.sha256(body).hexdigest()}"'
    assert "immutable" in r.headers["cache-control"]
    assert "immutable" not in client.get(f"/api/v1/releases/latest/files/{path}").headers[
        "cache-control"]


def test_head_of_a_download_is_its_headers_without_the_body(client: TestClient,
                                                           releases_dir: Path) -> None:
    url = "/api/v1/releases/2026.03.01/files/data/victims_by_gender_age.csv"
    size = (releases_dir / "2026.03.01/data/victims_by_gender_age.csv").stat().st_size
    for _ in range(2):  # the first builds the answer, the second is a hit at the edge
        head, get = client.head(url), client.get(url)
        assert head.status_code == get.status_code == 200 and head.content == b""
        assert int(head.headers["content-length"]) == size == len(get.content)
        assert {k: head.headers[k] for k in ("etag", "content-type", "cache-control")} == {
            k: get.headers[k] for k in ("etag", "content-type", "cache-control")}
    assert client.head("/api/v1/releases/2026.03.01/files/data/nope.csv").status_code == 404
    assert client.post(url).status_code == 405


def test_only_files_of_the_manifest_can_be_reached(client: TestClient) -> None:
    for path in ("../../ctcollab.db", "..%2F..%2Fsecret.key", "data/nope.csv"):
        r = client.get(f"/api/v1/releases/2026.03.01/files/{path}")
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"


def test_unknown_release_is_a_problem_json_404(client: TestClient) -> None:
    r = client.get("/api/v1/releases/1999.01.01")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"].endswith("/not-found") and body["status"] == 404


def test_no_release_yet(tmp_path: Path) -> None:
    with TestClient(create_app(tmp_path / "releases")) as c:
        assert c.get("/api/v1/releases").json() == {"releases": [], "latest": None}
        assert c.get("/api/v1/releases/latest").status_code == 404
        assert c.get("/healthz").json()["releases"] == 0


def test_home_page_lists_releases(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "2026.03.02</span> (this release)" in r.text  # / is the latest release's site
    assert 'href="../../2026.03.01/datapackage.json"' in r.text  # the earlier one, beside it
