"""The static site in a release: offline, traceable to the release's files, in two languages."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

import pandas as pd
import pytest
from frictionless import Package

from ctcollab import pipeline
from ctcollab.demodata import DEMO_ORGS, generate
from ctcollab.settings import load_settings
from privacy.spec import DEFAULT_SPEC
from publish.site.charts import Cell, bar_chart
from publish.site.labels import MissingTranslation, country_name, number, ui, value_label
from tests.publish.site_support import (
    SVG_NAMESPACE,
    Page,
    check_source,
    csv_text,
    minimal_csv,
    pages,
    parse,
    untraced_numbers,
)

EXTERNAL = re.compile(r"https?://", re.IGNORECASE)
CITIZENSHIP_TABLE = """
    - name: victims_by_year_citizenship
      title: Identified victims by year of registration and citizenship
      titles: {fr: "Victimes identifiées par année d’enregistrement et nationalité"}
      dimensions: [year_of_registration, citizenship]
"""


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two releases of realistic demo extracts; only the second (the default spec) has a
    table by citizenship."""
    home = tmp_path_factory.mktemp("site-home")
    ctx = pipeline.init(load_settings(home=home))
    for org in DEMO_ORGS:
        pipeline.add_org(ctx, org.slug, org.name, named_contributor=True)
    for e in generate(home / "demo-data", records=1500, seed=11):
        pipeline.ingest_file(ctx, e.org_slug, e.path, mapping=e.mapping, sheet=e.sheet)
    spec = DEFAULT_SPEC.read_text(encoding="utf-8")
    assert CITIZENSHIP_TABLE in spec
    (home / "spec.yaml").write_text(spec.replace(CITIZENSHIP_TABLE, "\n", 1), encoding="utf-8")
    first = pipeline.release(ctx, version="2026.04.01", spec_path=home / "spec.yaml").path
    second = pipeline.release(ctx, version="2026.04.02").path
    ctx.engine.dispose()
    return first, second


@pytest.fixture(scope="module")
def release(releases: tuple[Path, Path]) -> Path:
    return releases[1]


@pytest.fixture(scope="module")
def site(release: Path) -> list[Page]:
    return pages(release)


def _aggregates(release: Path) -> list[dict[str, object]]:
    dp = json.loads((release / "datapackage.json").read_text())
    # The raw measurements beside each table are files for researchers, not site pages.
    return [r for r in dp["resources"]
            if r["privacy"]["method"] == "dp-table" and not r["privacy"].get("raw")]


def test_every_page_exists_in_english_and_french(release: Path) -> None:
    root = release / "site"
    names = ["index.html", "datasets/index.html", "explore/index.html",
             "methodology/index.html", "ledger.html", "api/index.html",
             *(f"explore/{r['name']}.html" for r in _aggregates(release))]
    for name in names:
        assert (root / name).is_file(), name
        assert (root / "fr" / name).is_file(), f"fr/{name}"
    assert (root / "site.css").is_file() and (root / "site.js").is_file()
    english = {p.relative_to(root).as_posix() for p in root.rglob("*.html")
               if not p.relative_to(root).as_posix().startswith("fr/")}
    french = {p.relative_to(root / "fr").as_posix() for p in (root / "fr").rglob("*.html")}
    assert english == french


def test_a_page_per_country_of_exploitation_and_of_citizenship(release: Path) -> None:
    """Every country with a published (not withheld) count in a DP table has its page."""
    expected: dict[str, set[str]] = {"country_of_exploitation": set(), "citizenship": set()}
    for r in _aggregates(release):
        frame = pd.read_csv(release / str(r["path"]), dtype=str, keep_default_na=False)
        published = frame[frame["flag"] != "c"]
        for field, found in expected.items():
            if field in frame.columns:
                found |= set(published[field]) - {"", "UNK"}
    assert expected["citizenship"] - expected["country_of_exploitation"], \
        "the fixture should have a country that is only a citizenship"
    pages_ = {p.stem for p in (release / "site" / "countries").glob("*.html")}
    assert pages_ == expected["country_of_exploitation"] | expected["citizenship"]
    only_citizenship = sorted(expected["citizenship"] - expected["country_of_exploitation"])[0]
    page = parse(release / "site" / "countries" / f"{only_citizenship}.html")
    held = {e.attrs["data-col"] for e in page.elements
            if e.tag == "span" and e.attrs.get("data-code") == only_citizenship}
    assert held == {"citizenship"}  # its only chart is as a country of citizenship
    assert "As country of citizenship" in page.path.read_text()


def test_no_reference_outside_the_site(release: Path, site: list[Page]) -> None:
    """No http(s) URL anywhere (the SVG namespace is a name, not a request), no absolute
    path, and every relative link lands on a file of the releases folder (offline)."""
    releases_dir = release.parent
    for page in site:
        for e in page.elements:
            for name, value in e.attrs.items():
                if e.tag == "svg" and name == "xmlns":
                    assert value == SVG_NAMESPACE, page.path
                    continue
                assert not EXTERNAL.search(value), (page.path, e.tag, name, value)
                if name not in ("href", "src"):
                    continue
                parts = urlsplit(value)
                assert not parts.scheme and not parts.netloc, (page.path, value)
                assert not value.startswith("/"), (page.path, value)
                if parts.path:
                    target = (page.path.parent / unquote(parts.path)).resolve()
                    assert releases_dir.resolve() in target.parents, (page.path, value)
                    assert target.is_file(), (page.path, value)
        for text, _holder in page.texts:
            assert not EXTERNAL.search(text), (page.path, text)
        raw = page.path.read_text()
        assert len(EXTERNAL.findall(raw)) == raw.count(f'xmlns="{SVG_NAMESPACE}"'), page.path
    css = (release / "site" / "site.css").read_text()
    assert not EXTERNAL.search(css) and "@import" not in css and "url(" not in css
    assert not EXTERNAL.search((release / "site" / "site.js").read_text())


def test_every_number_on_a_page_traces_to_a_file_of_the_release(release: Path,
                                                                 site: list[Page]) -> None:
    traced = 0
    for page in site:
        for e in page.by_attr("data-src"):
            problem = check_source(release, page, e)
            assert problem is None, (page.path.relative_to(release), problem)
            traced += 1
        assert untraced_numbers(page) == [], page.path.relative_to(release)
    assert traced > 1000


def test_figures_tables_and_charts_agree_with_the_csv(release: Path) -> None:
    """A table page lists every published cell of its CSV, and each bar is one cell."""
    for r in _aggregates(release):
        page = parse(release / "site" / "explore" / f"{r['name']}.html")
        frame = pd.read_csv(release / str(r["path"]), dtype=str, keep_default_na=False)
        published = set(frame.index[frame["flag"] != "c"])
        listed = {int(e.attrs["data-row"]) for e in page.by_attr("data-col")
                  if e.attrs["data-col"] == "count" and e.tag == "td"
                  and "figures" in (e.parent.parent.parent.attrs.get("class", "")
                                    if e.parent and e.parent.parent and e.parent.parent.parent
                                    else "")}
        assert listed == published, r["name"]
        bars = [e for e in page.elements if e.tag == "g" and "bar" in e.attrs.get("class", "")]
        rects = [e for e in page.elements if e.tag == "rect"]
        assert bars and len(rects) == sum(1 for b in bars if "flag-c" not in b.attrs["class"])
        whiskers = [e for e in page.elements if e.tag == "line" and e.attrs.get("class") ==
                    "whisker"]
        assert len(whiskers) == 3 * len(rects)


def test_sha256sum_checks_every_file_of_the_release(release: Path) -> None:
    sha256sum = shutil.which("sha256sum")
    assert sha256sum is not None, "coreutils' sha256sum is needed"
    result = subprocess.run([sha256sum, "--check", "--strict", "SHA256SUMS"], cwd=release,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    checked = {line.rsplit(": ", 1)[0] for line in result.stdout.splitlines()
               if line.endswith(": OK")}
    files = {p.relative_to(release).as_posix() for p in release.rglob("*") if p.is_file()}
    assert checked == files - {"SHA256SUMS"}
    assert "site/index.html" in checked and "site/fr/index.html" in checked


def test_csv_files_follow_one_strict_dialect(release: Path) -> None:
    """What R's read.csv needs, checked directly: UTF-8 without BOM, commas, one line ending,
    the datapackage's header, the header's width on every row, quotes only where needed, and
    values that load with the stated types."""
    dp = json.loads((release / "datapackage.json").read_text())
    for r in dp["resources"]:
        path = release / r["path"]
        text, ending = csv_text(path)
        assert text.endswith(ending), r["name"]
        lines = text[:-len(ending)].split(ending)
        assert not any("\r" in line or "\n" in line for line in lines if '"' not in line), \
            f"{r['name']}: mixed line endings"
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=","))
        fields = r["schema"]["fields"]
        assert rows[0] == [f["name"] for f in fields], r["name"]
        assert all(len(row) == len(rows[0]) for row in rows), r["name"]
        assert minimal_csv(rows, ending) == text, f"{r['name']}: quoting beyond the minimum"
        missing = set(r["schema"].get("missingValues", [""]))
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        for f in fields:
            values = frame[f["name"]][~frame[f["name"]].isin(missing)]
            if f["type"] == "integer":
                assert values.str.fullmatch(r"-?\d+").all(), (r["name"], f["name"])
                typed = frame[f["name"]].replace(list(missing), None).astype("Int64")
                assert typed.notna().sum() == len(values)
            elif f["type"] == "number":
                assert pd.to_numeric(values, errors="coerce").notna().all(), f["name"]
            elif f["type"] == "boolean":
                assert values.isin(["true", "false"]).all(), f["name"]
            else:
                assert f["type"] == "string", (r["name"], f["name"], f["type"])
            if "categories" in f:
                allowed = {str(c["value"]) if isinstance(c, dict) else str(c)
                           for c in f["categories"]}
                assert set(values) <= allowed, (r["name"], f["name"])


def test_french_pages_are_in_french_and_english_pages_in_english(release: Path,
                                                                  site: list[Page]) -> None:
    root = release / "site"
    for page in site:
        rel = PurePosixPath(page.path.relative_to(root).as_posix())
        french = rel.parts[0] == "fr"
        lang = "fr" if french else "en"
        assert page.html_lang == lang, rel
        nav = [page.text_of(e) for e in page.elements
               if e.tag == "a" and e.parent and e.parent.parent and e.parent.parent.parent
               and e.parent.parent.parent.attrs.get("aria-label") in ("Main", "Principale")]
        expected = (["Accueil", "Explorer", "Jeux de données", "Méthodologie",
                     "Registre de confidentialité", "API"] if french
                    else ["Home", "Explore", "Datasets", "Methodology", "Privacy ledger", "API"])
        assert nav == expected, rel
        # The language switch leads to the same page in the other language.
        other = [e for e in page.elements if e.tag == "a" and e.attrs.get("hreflang")
                 and e.attrs["hreflang"] != lang]
        assert len(other) == 1, rel
        target = (page.path.parent / other[0].attrs["href"]).resolve()
        twin = root / (rel.relative_to("fr") if french else PurePosixPath("fr") / rel)
        assert target == twin.resolve(), rel
    fr_libya = parse(root / "fr" / "countries" / "LBY.html")
    en_libya = parse(root / "countries" / "LBY.html")
    assert [fr_libya.text_of(e) for e in fr_libya.elements if e.tag == "h1"] == ["Libye LBY"]
    assert [en_libya.text_of(e) for e in en_libya.elements if e.tag == "h1"] == ["Libya LBY"]
    fr_home = (root / "fr" / "index.html").read_text()
    assert "Côte d’Ivoire" in fr_home or "Égypte" in fr_home or "Algérie" in fr_home
    assert "Intervalle à 95 %" in fr_home and "95% interval" not in fr_home
    assert "Skip to content" not in fr_home and "Aller au contenu" in fr_home
    # Table titles too, from the spec's translations (traced to datapackage.json's titles).
    fr_explore = (root / "fr" / "explore" / "index.html").read_text()
    assert "Victimes identifiées par genre et tranche d’âge" in fr_explore
    assert "Identified victims by gender and age band" not in fr_explore
    assert ".titles.fr" in fr_explore and ".titles." not in (root / "explore" /
                                                             "index.html").read_text()


def test_methodology_says_where_the_site_is_and_that_it_works_offline(release: Path) -> None:
    for page in ("methodology/index.html", "fr/methodology/index.html"):
        html = (release / "site" / page).read_text()
        assert "site/index.html" in html
    assert "offline" in (release / "site" / "methodology" / "index.html").read_text()
    assert "hors ligne" in (release / "site" / "fr" / "methodology" / "index.html").read_text()


def test_a_release_links_the_earlier_releases_beside_it(releases: tuple[Path, Path]) -> None:
    first, second = releases
    home = parse(second / "site" / "index.html")
    hrefs = home.attr("a", "href")
    assert f"../../{first.name}/site/index.html" in hrefs
    assert (second / "site" / f"../../{first.name}/site/index.html").resolve().is_file()
    assert not any(f"/{second.name}/" in h for h in parse(first / "site" / "index.html")
                   .attr("a", "href"))


def test_bar_chart_geometry() -> None:
    cells = [Cell(0, "2020", "2020", "en", 10, 7, 13, ""),
             Cell(1, "2021", "2021", "en", None, None, None, "c"),
             Cell(2, "2022", "2022", "en", 3, 0, 6, "u")]
    chart = bar_chart(cells)
    a, c, u = chart.bars
    assert a.whisker_top < a.y < a.whisker_bottom <= chart.plot_bottom
    assert c.cell.count is None and c.height == 0 and c.cell.flag == "c"
    assert u.cell.flag == "u" and u.whisker_bottom == chart.plot_bottom
    assert chart.ticks[0][1] == 0 and not chart.truncated
    many = [Cell(i, str(i), str(i), "en", i, i, i, "") for i in range(50)]
    shown = bar_chart(many, limit=40)
    assert shown.truncated and len(shown.bars) == 40 and shown.bars[0].cell.count == 49


def test_labels_in_both_languages() -> None:
    assert country_name("CIV", "fr") == "Côte d’Ivoire"
    assert country_name("LBY", "en") == "Libya"
    assert value_label("gender", "female", "fr") == ("Femme", "fr")
    assert value_label("age_broad", "18-20", "fr") == ("18–20", "fr")
    assert value_label("country_of_exploitation", "", "fr") == ("Non renseigné", "fr")
    assert number(12345, "fr") == "12\u202f345" and number(12345, "en") == "12,345"
    assert number(1e-09, "en") == "1e-09" and number(0.16666666666, "fr") == "0,166667"
    assert ui("nav_home", "fr") == "Accueil"
    with pytest.raises(MissingTranslation):
        ui("no-such-string", "fr")


def test_a_release_with_its_site_is_still_a_valid_data_package(release: Path) -> None:
    report = Package(str(release / "datapackage.json")).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:5]
    dp = json.loads((release / "datapackage.json").read_text())
    assert dp["ctcollab"]["earlier_releases"] == ["2026.04.01"]
    assert not any(r["path"].startswith("site/") for r in dp["resources"])


def test_the_headline_year_is_the_latest_with_a_full_row_of_figures() -> None:
    from publish.site.pages import Aggregate, headline

    def cell(year: str, country: str, count: int, flag: str = "") -> dict[str, str]:
        return {"year_of_registration": year, "country_of_exploitation": country,
                "count": "" if flag == "c" else str(count), "lower_95": "0",
                "upper_95": str(count + 9), "flag": flag}

    rows = [cell("2023", c, 40 + i) for i, c in enumerate(("LBY", "NGA", "MLI", "NER", "TCD",
                                                             "SDN"))]
    rows += [cell("2024", "LBY", 30), cell("2024", "NGA", 12, "u")]  # a thin, recent year
    rows += [cell("2024", c, 0, "c") for c in ("MLI", "NER", "TCD", "SDN")]
    table = Aggregate(0, {"name": "t", "path": "data/t.csv", "privacy": {
        "dimensions": ["year_of_registration", "country_of_exploitation"]}},
        pd.DataFrame(rows))
    top = headline([table], "en")
    assert top is not None and top.year == "2023"
    assert [c.code for c in top.cells] == ["SDN", "TCD", "NER", "MLI", "NGA"]
    # With no year full, the year with the most published figures.
    thin = Aggregate(0, table.resource, pd.DataFrame(rows[6:]))
    top = headline([thin], "en")
    assert top is not None and top.year == "2024" and len(top.cells) == 2


def test_a_chart_defaults_to_a_known_value_not_to_unknown() -> None:
    from publish.site.pages import Aggregate

    def cell(year: str, country: str, count: int) -> dict[str, str]:
        return {"year_of_registration": year, "citizenship": country, "count": str(count),
                "lower_95": "0", "upper_95": str(count + 9), "flag": ""}

    rows = [cell("2023", "unknown", 300), cell("2023", "", 200), cell("2023", "NGA", 40),
            cell("2023", "MLI", 60), cell("2024", "NGA", 30)]
    table = Aggregate(0, {"name": "t", "path": "data/t.csv", "privacy": {
        "dimensions": ["year_of_registration", "citizenship"]}}, pd.DataFrame(rows))
    assert table.busiest("citizenship", []) == "NGA"  # 70 over two years, against 60
    only_unknown = Aggregate(0, table.resource, pd.DataFrame(rows[:2]))
    assert only_unknown.busiest("citizenship", []) == "unknown"
