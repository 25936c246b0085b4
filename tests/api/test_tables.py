"""Public table queries over the fixture releases: filters, facets, cursor pages, CSV, caching."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

V = "2026.03.01"
TABLE = f"/api/v1/releases/{V}/tables/victims_by_year_country"
PROBLEM = "application/problem+json"


def _file_rows(releases_dir: Path, name: str = "victims_by_year_country") -> list[dict[str, str]]:
    text = (releases_dir / V / "data" / f"{name}.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _all_pages(client: TestClient, url: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        r = client.get(next_url)
        assert r.status_code == 200, r.text
        body = r.json()
        rows += body["rows"]
        next_url = body["next_url"]
        if next_url:
            assert f'<{next_url}>; rel="next"' in r.headers["link"]
            assert body["next"] and body["next"] in next_url
    return rows


def test_table_list_names_columns_and_protection(client: TestClient) -> None:
    body = client.get(f"/api/v1/releases/{V}/tables").json()
    assert body["release"]["version"] == V and body["release"]["licence"] == "CC-BY-4.0"
    tables = {t["name"]: t for t in body["tables"]}
    t = tables["victims_by_year_country"]
    assert t["dimensions"] == ["year_of_registration", "country_of_exploitation"]
    assert [c["name"] for c in t["columns"] if c["filter"]] == [
        "year_of_registration", "country_of_exploitation", "flag"]
    assert t["privacy"]["method"] == "dp-table" and t["privacy"]["rho"] > 0
    assert t["downloads"]["csv"].endswith("/files/data/victims_by_year_country.csv")


def test_filters_match_the_published_file(client: TestClient, releases_dir: Path) -> None:
    rows = _file_rows(releases_dir)
    body = client.get(f"{TABLE}?country_of_exploitation=LBY&year_of_registration=2021").json()
    expected = [r for r in rows if r["country_of_exploitation"] == "LBY"
                and r["year_of_registration"] == "2021"]
    assert body["total"] == len(expected) == 1
    got = body["rows"][0]
    assert got["year_of_registration"] == 2021 and got["country_of_exploitation"] == "LBY"
    assert got["count"] == (int(expected[0]["count"]) if expected[0]["count"] else None)
    assert got["flag"] == (expected[0]["flag"] or None)
    assert body["filters"] == {"country_of_exploitation": ["LBY"],
                               "year_of_registration": ["2021"]}
    # Every response names the release, its licence and how to cite it.
    assert body["release"]["version"] == V and body["release"]["licence"] == "CC-BY-4.0"
    assert V in body["release"]["citation"]


@pytest.mark.parametrize(("word", "code"), [("true", "1"), ("Yes", "1"), ("false", "0"),
                                            ("no", "0"), ("1", "1")])
def test_a_yes_no_column_takes_words_as_people_write_them(client: TestClient,
                                                          releases_dir: Path, word: str,
                                                          code: str) -> None:
    name = "forced_labour_by_year_country"
    body = client.get(f"/api/v1/releases/{V}/tables/{name}",
                      params={"country_of_exploitation": "LBY", "is_forced_labour": word,
                              "_size": 100}).json()
    expected = [r for r in _file_rows(releases_dir, name)
                if r["country_of_exploitation"] == "LBY" and r["is_forced_labour"] == code]
    assert body["total"] == len(expected) > 0
    assert {r["is_forced_labour"] for r in body["rows"]} == {int(code)}
    assert body["filters"]["is_forced_labour"] == [code]
    # Words stay refused where the column is not yes/no.
    bad = client.get(f"/api/v1/releases/{V}/tables/{name}", params={"year_of_registration": word})
    assert bad.status_code == 400 if word != "1" else bad.status_code == 200


def test_repeated_values_are_or_and_empty_matches_not_supplied(client: TestClient,
                                                               releases_dir: Path) -> None:
    rows = _file_rows(releases_dir)
    url = f"{TABLE}?country_of_exploitation=LBY&country_of_exploitation=NER&_size=1000"
    body = client.get(url).json()
    expected = [r for r in rows if r["country_of_exploitation"] in ("LBY", "NER")]
    assert body["total"] == len(expected)
    assert [(r["year_of_registration"], r["country_of_exploitation"]) for r in body["rows"]] == [
        (int(r["year_of_registration"]) if r["year_of_registration"] else None,
         r["country_of_exploitation"]) for r in expected]
    empty = client.get(f"{TABLE}?year_of_registration=&_size=1000").json()
    assert empty["total"] == sum(1 for r in rows if r["year_of_registration"] == "")
    assert all(r["year_of_registration"] is None for r in empty["rows"])
    unflagged = client.get(f"{TABLE}?flag=&_size=1000").json()
    assert unflagged["total"] == sum(1 for r in rows if r["flag"] == "")
    assert all(r["count"] is not None for r in unflagged["rows"])


def test_cursor_pages_cover_the_table_in_file_order(client: TestClient,
                                                    releases_dir: Path) -> None:
    rows = _file_rows(releases_dir)
    first = client.get(f"{TABLE}?flag=u&flag=&_size=7").json()
    assert first["size"] == 7 and len(first["rows"]) == min(7, first["total"])
    got = _all_pages(client, f"{TABLE}?flag=u&flag=&_size=7")
    expected = [r for r in rows if r["flag"] in ("u", "")]
    assert len(got) == len(expected) == first["total"]
    assert [r["country_of_exploitation"] or "" for r in got] == [
        r["country_of_exploitation"] for r in expected]
    default = client.get(TABLE).json()
    assert default["size"] == 100 and len(default["rows"]) == 100
    assert default["total"] == len(rows)


@pytest.mark.parametrize(("query", "code"), [
    ("bogus=1", "invalid-filter"),
    ("count=3", "invalid-filter"),
    ("gender=female", "invalid-filter"),
    ("year_of_registration=twenty", "invalid-filter"),
    ("country_of_exploitation=LIBYA", "invalid-filter"),
    ("_size=0", "invalid-filter"),
    ("_size=1001", "invalid-filter"),
    ("_format=xml", "invalid-filter"),
    ("_facet=count", "invalid-filter"),
    ("_next=garbage", "invalid-cursor"),
    ("_next=WzMsIjAwMDAwMDAwMDAwMCJd", "invalid-cursor"),
])
def test_bad_queries_are_400_problems(client: TestClient, query: str, code: str) -> None:
    r = client.get(f"{TABLE}?{query}")
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["type"] == f"https://ctcollab.org/problems/{code}"


def test_a_cursor_only_works_with_its_own_query(client: TestClient) -> None:
    token = client.get(f"{TABLE}?country_of_exploitation=LBY&_size=3").json()["next"]
    assert client.get(f"{TABLE}?country_of_exploitation=LBY&_size=3&_next={token}"
                      ).status_code == 200
    other = client.get(f"{TABLE}?country_of_exploitation=NER&_size=3&_next={token}")
    assert other.status_code == 400 and other.json()["type"].endswith("/invalid-cursor")


def test_unknown_table_and_release_are_404(client: TestClient) -> None:
    for url in (f"/api/v1/releases/{V}/tables/nope", "/api/v1/releases/1999.01.01/tables",
                "/api/v1/releases/../tables/x"):
        r = client.get(url)
        assert r.status_code == 404 and r.headers["content-type"] == PROBLEM


def test_facets_count_the_matching_rows(client: TestClient, releases_dir: Path) -> None:
    body = client.get(f"{TABLE}?country_of_exploitation=LBY&_facet=flag&_size=1").json()
    facets = {f["value"]: f for f in body["facets"]["flag"]}
    rows = [r for r in _file_rows(releases_dir) if r["country_of_exploitation"] == "LBY"]
    assert sum(f["rows"] for f in facets.values()) == body["total"] == len(rows)
    assert facets.get("c", {"rows": 0})["rows"] == sum(1 for r in rows if r["flag"] == "c")
    published = sum(f["published_rows"] for f in facets.values())
    assert published == sum(1 for r in rows if r["flag"] != "c")


def test_csv_has_every_matching_row_and_says_what_it_is(client: TestClient,
                                                       releases_dir: Path) -> None:
    r = client.get(f"{TABLE}?country_of_exploitation=LBY&_format=csv")
    assert r.status_code == 200 and r.headers["content-type"] == "text/csv; charset=utf-8"
    got = list(csv.DictReader(io.StringIO(r.text)))
    assert got == [row for row in _file_rows(releases_dir)
                   if row["country_of_exploitation"] == "LBY"]
    assert 'rel="license"' in r.headers["link"] and 'rel="cite-as"' in r.headers["link"]
    assert r.headers["x-ctcollab-release"] == V and r.headers["x-ctcollab-licence"] == "CC-BY-4.0"
    assert "attachment" in r.headers["content-disposition"]
    whole = client.get(f"{TABLE}?_format=csv")
    assert whole.content == (releases_dir / V / "data" / "victims_by_year_country.csv"
                             ).read_bytes()


def test_versioned_answers_are_immutable_and_revalidate(client: TestClient) -> None:
    url = f"{TABLE}?country_of_exploitation=TUN"
    first = client.get(url)
    assert "immutable" in first.headers["cache-control"]
    second = client.get(url)  # now from the edge's cache: the same bytes and headers
    assert second.content == first.content and second.headers["etag"] == first.headers["etag"]
    cached = client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert cached.status_code == 304 and cached.content == b""
    fresh_url = f"{TABLE}?country_of_exploitation=DZA"
    fresh = client.get(fresh_url)
    not_modified = client.get(fresh_url + "&", headers={"If-None-Match": fresh.headers["etag"]})
    assert not_modified.status_code == 304  # also on the route's own path (not yet cached)


def test_latest_follows_the_pointer_and_is_not_immutable(client: TestClient) -> None:
    r = client.get("/api/v1/releases/latest/tables/victims_by_gender_age?gender=female")
    assert r.status_code == 200
    assert r.json()["release"]["version"] == "2026.03.02"
    assert "immutable" not in r.headers["cache-control"]
    assert r.headers["etag"]
