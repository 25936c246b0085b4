"""The site as the API serves it from releases, and the rule that public routes never use the DB."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.app import create_app
from tests.api.support import partner_config

PUBLIC_URLS = [
    "/", "/fr", "/fr/", "/datasets", "/fr/datasets", "/explore",
    "/explore/victims_by_gender_age", "/explore/victims_by_gender_age.html", "/methodology",
    "/2026.03.01/site/methodology/index.html", "/countries/LBY", "/fr/countries/NER",
    "/countries/LBY.html", "/site.css", "/site.js", "/data/victims_by_gender_age.csv",
    "/partner", "/fr/partner", "/api", "/api/reference", "/healthz", "/api/v1/releases",
    "/api/v1/releases/latest", "/api/v1/releases/2026.03.01/tables",
    "/api/v1/releases/2026.03.01/tables/victims_by_year_country?country_of_exploitation=LBY",
    "/api/v1/releases/latest/tables/victims_by_gender_age?_format=csv",
    "/api/v1/releases/2026.03.01/files/data/victims_by_gender_age.csv",
    "/api/v1/releases/latest/files/datapackage.json", "/api/v1/openapi.json",
]


def _svg_bars(html: str) -> int:
    return len(re.findall(r'<g class="bar', html))


def _hrefs(html: str) -> list[str]:
    return re.findall(r'href="([^"]*)"', html)


def _follow(page: str, href: str) -> str:
    """The path a browser requests for ``href`` on the page at path ``page`` (RFC 3986: a
    ``..`` past the root stays at the root)."""
    return urlsplit(urljoin(f"http://testserver{page}", href)).path


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


def test_pages_are_the_files_of_the_latest_release(client: TestClient,
                                                   releases_dir: Path) -> None:
    site = releases_dir / "2026.03.02" / "site"
    for url, name in (("/", "index.html"), ("/fr", "fr/index.html"),
                      ("/datasets", "datasets/index.html"),
                      ("/explore/victims_by_gender_age", "explore/victims_by_gender_age.html"),
                      ("/countries/lby", "countries/LBY.html"),
                      ("/fr/countries/LBY.html", "fr/countries/LBY.html"),
                      ("/methodology", "methodology/index.html"), ("/api", "api/index.html")):
        r = client.get(url)
        assert r.status_code == 200 and r.headers["content-type"] == "text/html; charset=utf-8"
        assert r.content == (site / name).read_bytes(), url
        assert r.headers["x-ctcollab-release"] == "2026.03.02"
    old = client.get("/2026.03.01/site/index.html")
    assert old.content == (releases_dir / "2026.03.01" / "site" / "index.html").read_bytes()
    assert "immutable" in old.headers["cache-control"]
    assert client.get("/site.css").headers["content-type"].startswith("text/css")


def test_pages_have_etags_and_revalidate(client: TestClient) -> None:
    first = client.get("/countries/LBY")
    etag = first.headers["etag"]
    assert "no-cache" in first.headers["cache-control"]  # it follows the latest release
    again = client.get("/countries/LBY", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    csp = first.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "sandbox" not in csp


def test_home_links_its_release_the_earlier_one_and_countries(client: TestClient,
                                                              releases_dir: Path) -> None:
    html = client.get("/").text
    assert "2026.03.02</span> (this release)" in html
    hrefs = _hrefs(html)
    assert '<a href="countries/LBY.html">Libya</a>' in html
    assert 'aria-current="page"' in html and '<main id="main">' in html
    # The earlier release's site and files, by relative links that work from disk and here.
    earlier = _follow("/", "../../2026.03.01/site/index.html")
    assert "../../2026.03.01/site/index.html" in hrefs and earlier == "/2026.03.01/site/index.html"
    r = client.get(earlier)
    assert r.status_code == 200 and "2026.03.01</span> (this release)" in r.text
    dp = _follow("/", "../../2026.03.01/datapackage.json")
    assert "../../2026.03.01/datapackage.json" in hrefs
    assert client.get(dp).json()["version"] == "2026.03.01"
    # From an earlier release's pages, links to its data land on its own files.
    datasets = client.get("/2026.03.01/site/datasets/index.html")
    link = next(h for h in _hrefs(datasets.text) if h.endswith("victims_by_gender_age.csv"))
    got = client.get(_follow("/2026.03.01/site/datasets/index.html", link))
    assert got.content == (releases_dir / "2026.03.01" / "data" /
                           "victims_by_gender_age.csv").read_bytes()


def test_country_page_has_charts_with_intervals_and_flags(client: TestClient) -> None:
    r = client.get("/countries/lby")
    assert r.status_code == 200
    html = r.text
    assert "<h1>Libya" in html and "Northern Africa" in html
    assert _svg_bars(html) > 0 and 'role="img"' in html
    assert "95% interval" in html and "Flag" in html
    assert "Is forced labour" in html or "forced labour" in html.lower()
    fr = client.get("/fr/countries/LBY").text
    assert "<h1>Libye" in fr and 'lang="fr"' in fr and "Afrique septentrionale" in fr
    missing = client.get("/countries/XYZ")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]


def test_explore_draws_one_bar_per_published_cell(client: TestClient, releases_dir: Path) -> None:
    html = client.get("/explore/victims_by_gender_age").text
    assert "<h1" in html and "Identified victims by gender and age band</h1>" in html
    held = re.search(r'data-col="gender" data-code="([a-z]+)"', html)
    assert held is not None
    rows = [line.split(",") for line in (releases_dir / "2026.03.02" / "data" /
                                         "victims_by_gender_age.csv").read_text().splitlines()]
    chosen = [r for r in rows if r[0] == held.group(1)]
    chart = html[html.index('<figure class="chart" id="chart"'):html.index("</figure>")]
    assert _svg_bars(chart) == len(chosen)
    assert chart.count("<rect ") == sum(1 for r in chosen if r[-1] != "c")
    # The download link is relative; here it lands on the latest release's file.
    link = next(h for h in _hrefs(html) if h.endswith("data/victims_by_gender_age.csv"))
    got = client.get(_follow("/explore/victims_by_gender_age", link))
    assert got.content == (releases_dir / "2026.03.02" / "data" /
                           "victims_by_gender_age.csv").read_bytes()
    assert "attachment" in got.headers["content-disposition"]


def test_methodology_shows_each_tables_privacy_parameters(client: TestClient,
                                                         releases_dir: Path) -> None:
    html = client.get("/2026.03.01/site/methodology/index.html").text
    dp = json.loads((releases_dir / "2026.03.01" / "datapackage.json").read_text())
    for resource in dp["resources"]:
        privacy = resource["privacy"]
        assert resource["name"] in html
        if privacy["method"] == "dp-table":
            assert f"{privacy['epsilon']:.6g}" in html and f"{privacy['rho']:.6g}" in html
        elif privacy["method"] == "k-anonymity":
            assert re.search(rf'<th scope="row"[^>]*>k</th><td><span [^>]*>{privacy["k"]}</span>',
                             html)
            assert ", ".join(privacy["quasi_identifiers"]) in html
    assert re.fullmatch(r"[0-9a-f]{32}", dp["ctcollab"]["release_id"])
    assert dp["ctcollab"]["release_id"] in html
    assert not {"snapshot_sha256", "mapping_versions"} & set(dp["ctcollab"])
    assert "open site/index.html" in client.get("/methodology").text.replace("\n", " ")
    assert client.get("/1999.01.01/site/methodology/index.html").status_code == 404


def test_datasets_page_lists_downloads_with_checksums(client: TestClient,
                                                      releases_dir: Path) -> None:
    url = "/2026.03.01/site/datasets/index.html"
    html = client.get(url).text
    sums = (releases_dir / "2026.03.01" / "SHA256SUMS").read_text().splitlines()
    csv_line = next(line for line in sums if line.endswith("victims_by_year_country.csv"))
    assert csv_line.split()[0] in html
    link = next(h for h in _hrefs(html) if h.endswith("victims_by_year_country.parquet"))
    got = client.get(_follow(url, link))
    assert got.content == (releases_dir / "2026.03.01" / "data" /
                           "victims_by_year_country.parquet").read_bytes()


def test_partner_page_says_when_there_is_no_partner_api(client: TestClient) -> None:
    assert "publishes releases only" in client.get("/partner").text
    assert client.get("/api/v1/uploads").status_code == 404


def test_partner_page_in_french(client: TestClient) -> None:
    html = client.get("/fr/partner").text
    assert '<html lang="fr">' in html
    assert "<h1>Portail des partenaires</h1>" in html
    assert "ne fait que publier les versions" in html
    assert 'href="/partner" lang="en" hreflang="en">English</a>' in html
    assert 'href="/fr/partner" lang="fr" hreflang="fr" aria-current="true">Français</a>' in html
    assert 'href="/fr/datasets"' in html and 'href="/fr/methodology"' in html
    english = client.get("/partner").text
    assert '<html lang="en">' in english
    assert 'href="/fr/partner" lang="fr" hreflang="fr">Français</a>' in english


def test_partner_portal_carries_its_texts_in_the_page_language(engine: sa.Engine,
                                                               tmp_path: Path,
                                                               releases_dir: Path) -> None:
    config = partner_config(engine, tmp_path, releases_dir=releases_dir, run_worker=False)
    with TestClient(create_app(config)) as c:
        for url, lang, label, reason in (
                ("/partner", "en", "API key", "A date could not be read."),
                ("/fr/partner", "fr", "Clé d’API", "Une date n’a pas pu être lue.")):
            html = c.get(url).text
            assert f'<html lang="{lang}">' in html
            assert f'<label for="api-key">{label}</label>' in html
            block = re.search(r'<script type="application/json" id="portal-strings">(.*?)</script>',
                              html, re.S)
            assert block is not None
            texts = json.loads(block.group(1))
            assert set(texts) == {"script", "status", "reasons", "errors"}
            assert texts["reasons"]["date-unparseable"] == reason
        assert "Déposer un extrait" in c.get("/fr/partner").text


def test_unknown_api_paths_stay_problems(client: TestClient) -> None:
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


def test_no_release_yet(tmp_path: Path) -> None:
    with TestClient(create_app(tmp_path / "releases")) as c:
        home = c.get("/")
        assert home.status_code == 200 and "No release has been published yet" in home.text
        assert c.get("/datasets").status_code == 404


def test_static_assets_are_versioned_and_immutable(client: TestClient) -> None:
    html = client.get("/partner").text
    href = re.search(r'href="(/static/site\.css\?v=[0-9a-f]+)"', html)
    assert href is not None
    r = client.get(href.group(1))
    assert r.status_code == 200 and "immutable" in r.headers["cache-control"]
    assert client.get("/static/../app.py").status_code == 404


def test_api_reference_is_generated_from_the_app(client: TestClient) -> None:
    html = client.get("/api/reference").text
    document = client.get("/api/v1/openapi.json").json()
    for path in document["paths"]:
        assert f"<code>{path}</code>" in html
    for code in ("invalid-filter", "invalid-cursor", "file-too-large", "row-too-long",
                 "unsupported-format", "missing-file", "unauthorized", "rate-limited",
                 "still-processing", "not-found"):
        assert f"<code>{code}</code>" in html, code


def test_the_releases_api_guide_names_every_public_endpoint(client: TestClient) -> None:
    """The guide is written into releases, so it is checked against the app that serves it."""
    document = client.get("/api/v1/openapi.json").json()
    for html in (client.get("/api").text, client.get("/fr/api").text):
        for path in [*document["paths"], "/api/v1/openapi.json", "/api/reference"]:
            assert f"<code>{path}</code>" in html, path


def test_every_link_of_the_served_site_works(client: TestClient) -> None:
    """Relative links written for the folder also work at the URLs the API serves."""
    seen: set[str] = set()
    todo = ["/", "/fr", "/countries/LBY", "/explore"]
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        r = client.get(url)
        assert r.status_code == 200, url
        if not r.headers["content-type"].startswith("text/html"):
            continue
        for href in _hrefs(r.text):
            target = _follow(url, href)
            if href.startswith("#") or not href:
                continue
            todo.append(target)
    assert "/data/victims_by_gender_age.csv" in seen and "/fr/datasets/index.html" in seen
    assert "/2026.03.01/site/index.html" in seen and "/2026.03.01/site/fr/index.html" in seen


def test_query_parameters_of_the_live_pages_lead_to_the_static_ones(client: TestClient) -> None:
    fr = client.get("/countries/NER?lang=fr", follow_redirects=False)
    assert fr.status_code == 308 and fr.headers["location"] == "/fr/countries/NER"
    assert client.get(fr.headers["location"]).text.count("<h1>Niger") == 1
    old = client.get("/methodology?release=2026.03.01", follow_redirects=False)
    assert old.status_code == 308
    assert old.headers["location"] == "/2026.03.01/site/methodology/index.html"
    missing = client.get("/methodology?release=1999.01.01")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
