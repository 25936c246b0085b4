"""Render the site into <release>/site/: English at its root, French under fr/."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from publish import ledger as publish_ledger
from publish.documents import environment
from publish.meta import ReleaseMeta
from publish.site import charts, pages
from publish.site.labels import (
    LANGUAGE_NAMES,
    LANGUAGES,
    column_title,
    country_name,
    number,
    region_names,
    resource_title,
    ui,
    value_label,
)

# Every link is relative and climbs to the site's root first (../ as many times as the page
# is deep), so the folder works from a disk with no server, and the API can serve a page at a
# shallower URL (/countries/LBY for countries/LBY.html): climbing past the root of a URL stays
# at the root. Release files are one level above the site (../data/...).
SITE = "site"
ASSETS = ("site.css", "site.js")
TEMPLATES = environment("templates/site")
NAV = (("index.html", "nav_home"), ("explore/index.html", "nav_explore"),
       ("datasets/index.html", "nav_datasets"), ("methodology/index.html", "nav_methodology"),
       ("ledger.html", "nav_ledger"), ("api/index.html", "nav_api"))


@dataclass(frozen=True)
class Page:
    path: str  # relative to the language's root
    template: str
    context: dict[str, Any]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _links(path: str, lang: str) -> dict[str, Callable[..., str]]:
    depth = path.count("/") + (1 if lang != "en" else 0)
    root = "../" * depth

    def href(target: str, in_lang: str = lang) -> str:
        return root + ("" if in_lang == "en" else f"{in_lang}/") + target

    def release_file(target: str) -> str:
        return root + "../" + target

    def asset(name: str) -> str:
        return root + name

    return {"href": href, "release_file": release_file, "asset": asset}


def _files(folder: Path, dp: dict[str, Any]) -> dict[str, Any]:
    """The release's files as the datasets page lists them (the site and SHA256SUMS are
    written after this page, so they are listed without a checksum)."""
    data = []
    listed: set[str] = set()
    for i, r in enumerate(dp["resources"]):
        csv = str(r["path"])
        parquet = csv.removesuffix(".csv") + ".parquet"
        has_parquet = (folder / parquet).exists()
        data.append({"index": i, "resource": r, "csv": csv, "parquet": parquet if has_parquet
                     else None, "sha_csv": _sha256(folder / csv),
                     "sha_parquet": _sha256(folder / parquet) if has_parquet else None})
        listed |= {csv, parquet}
    others = []
    for p in sorted(folder.rglob("*")):
        name = p.relative_to(folder).as_posix()
        if p.is_file() and name not in listed and not name.startswith(f"{SITE}/"):
            others.append({"path": name, "sha": _sha256(p)})
    return {"data": data, "others": others}


def _ledger_context(dp: dict[str, Any]) -> dict[str, Any]:
    """The ledger page's: the ledger as datapackage.json states it (``{}``: none recorded),
    its chart, and the cohorts whose weakest protection is k-anonymity."""
    ledger = dp["ctcollab"].get("privacy_ledger") or {}
    cohorts = ledger.get("cohorts", [])
    return {"ledger": ledger, "ledger_key": publish_ledger.KEY,
            "chart": charts.budget_chart(cohorts, float(ledger["cap"]["rho"])) if ledger
            else None,
            "weakest": [(i, c["cohort"]) for i, c in enumerate(cohorts) if c["kanon_published"]]}


def _pages(folder: Path, dp: dict[str, Any], tables: list[pages.Aggregate],
           lang: str) -> list[Page]:
    countries = pages.countries_with_data(tables)
    explore = [(t, pages.figure(t, lang)) for t in tables]
    out = [
        Page("index.html", "home.html", {
            "headline": pages.headline(tables, lang), "figures": [f for _, f in explore],
            "countries": pages.sorted_countries(countries, lang)}),
        Page("datasets/index.html", "datasets.html", {"files": _files(folder, dp)}),
        Page("explore/index.html", "explore.html", {"tables": tables}),
        Page("methodology/index.html", "methodology.html", {}),
        Page("ledger.html", "ledger.html", _ledger_context(dp)),
        Page("api/index.html", "api.html", {"tables": tables}),
    ]
    for table, fig in explore:
        out.append(Page(f"explore/{table.name}.html", "table.html", {
            "table": table, "figure": fig, "rows": table.published()}))
    for iso3 in countries:
        subregion, region = region_names(iso3, lang)
        out.append(Page(f"countries/{iso3}.html", "country.html", {
            "iso3": iso3, "name": country_name(iso3, lang), "subregion": subregion,
            "region": region, "figures": pages.country_figures(tables, iso3, lang)}))
    return out


def write_site(folder: Path, meta: ReleaseMeta, dp: dict[str, Any], citation: str) -> list[Path]:
    """Write every page of the site in every language, and its stylesheet and script."""
    site = folder / SITE
    site.mkdir()
    written = []
    for name in ASSETS:
        data = resources.files("publish").joinpath("templates", "site", name).read_bytes()
        (site / name).write_bytes(data)
        written.append(site / name)
    common = {"meta": meta, "dp": dp, "citation": citation, "nav": NAV,
              "languages": LANGUAGE_NAMES, "created": meta.created.date().isoformat()}
    tables = pages.load_aggregates(folder, dp)
    for lang in LANGUAGES:
        base = site if lang == "en" else site / lang
        for page in _pages(folder, dp, tables, lang):
            context = {
                **common, **page.context, **_links(page.path, lang), "lang": lang,
                "page": page.path,
                "_": lambda key, _lang=lang, **values: ui(key, _lang, **values),
                "num": lambda value, _lang=lang: number(value, _lang),
                "column": lambda c, _lang=lang: column_title(c, _lang),
                "label": lambda c, v, _lang=lang: value_label(c, v, _lang),
                "country": lambda c, _lang=lang: country_name(c, _lang),
                "title": lambda i, r, _lang=lang: resource_title(i, r, _lang),
            }
            html = TEMPLATES.get_template(page.template).render(**context)
            target = base / page.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(html, encoding="utf-8")
            written.append(target)
    return written
