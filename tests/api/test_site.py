"""The public site's pages, and the rule that public routes never touch the database."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.app import create_app
from api.site_data import bar_chart, country_name
from tests.api.support import partner_config

PUBLIC_URLS = [
    "/", "/datasets", "/explore", "/explore?table=victims_by_gender_age&by=age_broad",
    "/methodology", "/methodology?release=2026.03.01", "/countries/LBY", "/countries/NER?lang=fr",
    "/partner", "/api", "/healthz", "/api/v1/releases", "/api/v1/releases/latest",
    "/api/v1/releases/2026.03.01/tables",
    "/api/v1/releases/2026.03.01/tables/victims_by_year_country?country_of_exploitation=LBY",
    "/api/v1/releases/latest/tables/victims_by_gender_age?_format=csv",
    "/api/v1/releases/2026.03.01/files/data/victims_by_gender_age.csv",
    "/api/v1/releases/latest/files/datapackage.json", "/api/v1/openapi.json",
]


def _svg_bars(html: str) -> int:
    return len(re.findall(r'<g class="bar', html))


def test_public_routes_never_query_the_database(engine: sa.Engine, tmp_path: Path,
                                                releases_dir: Path) -> None:
    statements: list[str] = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    config = partner_config(engine, tmp_path, releases_dir=releases_dir, run_worker=False)
    with TestClient(create_app(config)) as c:
        for url in PUBLIC_URLS:
            assert c.get(url).status_code == 200, url
        assert statements == []
        # ...while the partner routes of the same app do use it.
        c.get("/api/v1/uploads", headers={"Authorization": "Bearer ctc_x"})
    assert any("api_keys" in s for s in statements)
    assert not any(re.search(r"\bcases\b", s) for s in statements)


def test_home_links_releases_and_countries(client: TestClient) -> None:
    html = client.get("/").text
    assert "2026.03.02" in html and "(latest)" in html
    assert "/api/v1/releases/2026.03.01/files/datapackage.json" in html
    assert '<a href="/countries/LBY">Libya</a>' in html
    assert 'aria-current="page"' in html and '<main id="main">' in html


def test_country_page_has_charts_with_intervals_and_flags(client: TestClient) -> None:
    r = client.get("/countries/lby")
    assert r.status_code == 200
    html = r.text
    assert "<h1>Libya" in html and "Northern Africa" in html
    assert _svg_bars(html) > 0 and 'role="img"' in html
    assert "95% interval" in html and "Flag" in html
    assert "Is forced labour" in html or "forced labour" in html.lower()
    fr = client.get("/countries/LBY?lang=fr").text
    assert "<h1>Libye" in fr and 'lang="fr"' in fr
    missing = client.get("/countries/XYZ")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]


def test_explore_draws_one_bar_per_published_cell(client: TestClient, releases_dir: Path) -> None:
    url = "/explore?table=victims_by_gender_age&by=age_broad&gender=female"
    html = client.get(url).text
    assert 'selected>Identified victims by gender and age band' in html
    rows = [line.split(",") for line in (releases_dir / "2026.03.02" / "data" /
                                         "victims_by_gender_age.csv").read_text().splitlines()]
    female = [r for r in rows if r[0] == "female"]
    assert _svg_bars(html) == len(female)
    assert html.count("<rect ") == sum(1 for r in female if r[-1] != "c")
    assert "/api/v1/releases/2026.03.02/tables/victims_by_gender_age?gender=female" in html
    assert "_format=csv" in html


def test_methodology_shows_each_tables_privacy_parameters(client: TestClient,
                                                         releases_dir: Path) -> None:
    html = client.get("/methodology?release=2026.03.01").text
    dp = json.loads((releases_dir / "2026.03.01" / "datapackage.json").read_text())
    for resource in dp["resources"]:
        privacy = resource["privacy"]
        assert resource["name"] in html
        if privacy["method"] == "dp-table":
            assert f"{privacy['epsilon']:.6g}" in html and f"{privacy['rho']:.6g}" in html
        elif privacy["method"] == "k-anonymity":
            assert f"<th scope=\"row\">k</th><td>{privacy['k']}</td>" in html
            assert ", ".join(privacy["quasi_identifiers"]) in html
    assert dp["ctcollab"]["snapshot_sha256"] in html
    assert client.get("/methodology?release=1999.01.01").status_code == 404


def test_datasets_page_lists_downloads_with_checksums(client: TestClient,
                                                      releases_dir: Path) -> None:
    html = client.get("/datasets").text
    sums = (releases_dir / "2026.03.01" / "SHA256SUMS").read_text().splitlines()
    csv_line = next(line for line in sums if line.endswith("victims_by_year_country.csv"))
    assert csv_line.split()[0] in html
    assert "/api/v1/releases/2026.03.01/files/data/victims_by_year_country.parquet" in html


def test_partner_page_says_when_there_is_no_partner_api(client: TestClient) -> None:
    assert "publishes releases only" in client.get("/partner").text
    assert client.get("/api/v1/uploads").status_code == 404


def test_static_assets_are_versioned_and_immutable(client: TestClient) -> None:
    html = client.get("/").text
    href = re.search(r'href="(/static/site\.css\?v=[0-9a-f]+)"', html)
    assert href is not None
    r = client.get(href.group(1))
    assert r.status_code == 200 and "immutable" in r.headers["cache-control"]
    assert client.get("/static/../app.py").status_code == 404


def test_bar_chart_geometry() -> None:
    rows: list[dict[str, Any]] = [
        {"y": 2020, "count": 10, "lower_95": 7, "upper_95": 13, "flag": None},
        {"y": 2021, "count": None, "lower_95": None, "upper_95": None, "flag": "c"},
        {"y": 2022, "count": 3, "lower_95": 0, "upper_95": 6, "flag": "u"}]
    chart = bar_chart(rows, "y", "t")
    a, c, u = chart.bars
    assert a.whisker_top < a.y < a.whisker_bottom <= chart.plot_bottom
    assert c.count is None and c.height == 0 and c.flag == "c"
    assert u.flag == "u" and u.whisker_bottom == chart.plot_bottom
    assert "withheld" in chart.description and "95% interval 7–13" in chart.description
    assert country_name("CIV", "fr") == "Côte d’Ivoire"


def test_api_reference_is_generated_from_the_app(client: TestClient) -> None:
    html = client.get("/api").text
    document = client.get("/api/v1/openapi.json").json()
    for path in document["paths"]:
        assert f"<code>{path}</code>" in html
    for code in ("invalid-filter", "invalid-cursor", "file-too-large", "row-too-long",
                 "unsupported-format", "missing-file", "unauthorized", "rate-limited",
                 "still-processing", "not-found"):
        assert f"<code>{code}</code>" in html, code
