"""The edge: security headers everywhere, read-only CORS on the public API, rate limits."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.app import create_app
from api.config import ApiConfig, Rate
from api.ratelimit import Buckets
from tests.api.conftest import PartnerSetup
from tests.api.support import partner_config

TABLE = "/api/v1/releases/2026.03.01/tables/victims_by_gender_age"


@pytest.mark.parametrize("url", ["/", "/explore", "/api/v1/releases", TABLE, TABLE,
                                 "/api/v1/releases/nope", "/no/such/page", "/partner"])
def test_security_headers_on_every_response(client: TestClient, url: str) -> None:
    r = client.get(url)
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-frame-options"] == "DENY"


def test_release_files_are_sandboxed_documents(client: TestClient) -> None:
    r = client.get("/api/v1/releases/2026.03.01/files/codebook.html")
    assert r.status_code == 200
    assert "sandbox" in r.headers["content-security-policy"]
    assert r.headers["content-security-policy"].count("default-src") == 1


def test_cors_is_read_only_and_public_only(client: TestClient) -> None:
    origin = {"Origin": "https://newsroom.example"}
    r = client.get(TABLE, headers=origin)
    assert r.headers["access-control-allow-origin"] == "*"
    assert "link" in r.headers["access-control-expose-headers"]
    pre = client.options(TABLE, headers={**origin, "Access-Control-Request-Method": "GET"})
    assert pre.status_code == 204 and pre.headers["access-control-allow-methods"] == "GET"
    page = client.get("/", headers=origin)
    assert "access-control-allow-origin" not in page.headers


def test_no_cors_on_the_partner_api(partners: PartnerSetup) -> None:
    origin = {"Origin": "https://evil.example"}
    pre = partners.client.options("/api/v1/uploads", headers={
        **origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization"})
    assert "access-control-allow-origin" not in pre.headers
    assert pre.status_code in (404, 405)
    r = partners.client.get("/api/v1/uploads", headers={**origin, **partners.a.auth})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers


def test_listed_origins_only(releases_dir: Path) -> None:
    app = create_app(ApiConfig(releases_dir=releases_dir,
                               cors_origins=("https://newsroom.example",)))
    with TestClient(app) as c:
        ok = c.get(TABLE, headers={"Origin": "https://newsroom.example"})
        assert ok.headers["access-control-allow-origin"] == "https://newsroom.example"
        assert ok.headers["vary"] == "origin"
        other = c.get(TABLE, headers={"Origin": "https://other.example"})
        assert "access-control-allow-origin" not in other.headers


def test_rate_limit_per_address_is_429_with_retry_after(releases_dir: Path) -> None:
    app = create_app(ApiConfig(releases_dir=releases_dir, address_rate=Rate(0.01, 3)))
    with TestClient(app) as c:
        assert [c.get(TABLE).status_code for _ in range(3)] == [200, 200, 200]
        r = c.get(TABLE)
        assert r.status_code == 429 and r.headers["content-type"] == "application/problem+json"
        assert r.json()["type"].endswith("/rate-limited")
        assert int(r.headers["retry-after"]) >= 1
        assert r.headers["x-content-type-options"] == "nosniff"
        assert c.get("/healthz").status_code == 200  # health checks are never limited
        other = c.get(TABLE, headers={"X-Forwarded-For": "203.0.113.9"})
        assert other.status_code == 429  # a header does not make a new client


def test_rate_limit_per_key(engine: sa.Engine, tmp_path: Path,
                            partners: PartnerSetup) -> None:
    config = partner_config(engine, tmp_path, key_rate=Rate(0.01, 2), run_worker=False)
    with TestClient(create_app(config)) as c:
        a, b = partners.a.auth, partners.b.auth
        assert [c.get("/api/v1/uploads", headers=a).status_code for _ in range(2)] == [200, 200]
        limited = c.get("/api/v1/uploads", headers=a)
        assert limited.status_code == 429 and "retry-after" in limited.headers
        assert c.get("/api/v1/uploads", headers=b).status_code == 200  # B has its own bucket


def test_buckets_refill_and_stay_bounded() -> None:
    buckets = Buckets(Rate(per_second=2, burst=2), max_keys=10)
    assert [buckets.take("a", now=0.0) for _ in range(2)] == [0.0, 0.0]
    assert buckets.take("a", now=0.0) == pytest.approx(0.5)
    assert buckets.take("a", now=0.5) == 0.0
    for i in range(50):
        buckets.take(f"k{i}", now=100.0 + i * 10)
    assert len(buckets._buckets) <= 10
