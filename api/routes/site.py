"""Server-rendered pages of the public site and the partner portal (Jinja2, no JS framework).

Pages are built from release artefacts only, rendered once per release and query, and kept
as bytes like the API's answers.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.cache import Prepared, answer
from api.deps import Cache, Public, Store
from api.problems import PROBLEM_BASE, problem_types
from api.public import PublicData, is_aggregate
from api.routes.static import asset_url
from api.site_data import (
    COUNTRY_FIELDS,
    FLAG_TEXT,
    LANGUAGES,
    bar_chart,
    busiest,
    column_title,
    country_name,
    is_country,
    language,
    options,
    region_names,
    value_label,
)
from api.tables import Table
from schemas.errors import NotFound

router = APIRouter(tags=["site"], include_in_schema=False)
TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("api", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
)
TEMPLATES.globals.update(asset=asset_url, flag_text=FLAG_TEXT, column_title=column_title,
                         value_label=value_label)
NAV = (("/", "Home"), ("/explore", "Explore"), ("/datasets", "Datasets"),
       ("/methodology", "Methodology"), ("/api", "API"), ("/partner", "Partner portal"))


def _render(template: str, *, current: str, lang: str = "en", **context: Any) -> bytes:
    return TEMPLATES.get_template(template).render(
        nav=NAV, current=current, lang=lang, rtl=lang == "ar", **context).encode()


def _page(request: Request, cache: Cache, store: Store, body: bytes) -> Response:
    entry = Prepared.build(body, "text/html; charset=utf-8", [], version=store.latest(),
                           follows_latest=True, immutable=False)
    scope = request.scope
    return answer(scope["path"], scope["query_string"], request.headers.get("if-none-match"),
                  cache, entry)


def _not_found(message: str, lang: str = "en") -> Response:
    body = _render("error.html", current="", lang=lang, title="Not found", message=message)
    return Response(body, status_code=404, media_type="text/html; charset=utf-8")


def _release(public: PublicData, version: str | None) -> str | None:
    """The release a page shows: the one asked for, else the latest (None if none yet)."""
    try:
        return public.info(version or "latest").version
    except NotFound:
        return None


def _country_tables(public: PublicData, version: str) -> list[tuple[Table, str]]:
    out = []
    for resource in public.info(version).tables():
        if not is_aggregate(resource):
            continue
        table = public.table(version, resource["name"])
        for field in COUNTRY_FIELDS:
            if field in table.dimensions:
                out.append((table, field))
    return out


def countries_with_data(public: PublicData, version: str) -> list[str]:
    """Countries with at least one published (not withheld) count in the release."""
    found: set[str] = set()
    for table, field in _country_tables(public, version):
        for value, ids in table.index[field].items():
            if value and (table.published is None or table.published[ids].any()):
                found.add(value)
    return sorted(found)


@router.get("/")
def home(request: Request, public: Public, store: Store, cache: Cache) -> Response:
    versions = store.versions()
    latest = store.latest()
    releases = [public.info(v) for v in versions]
    countries = []
    if latest is not None:
        countries = sorted(((c, country_name(c)) for c in countries_with_data(public, latest)),
                           key=lambda c: c[1])
    body = _render("home.html", current="/", releases=releases, latest=latest,
                   latest_info=public.info(latest) if latest else None, countries=countries)
    return _page(request, cache, store, body)


@router.get("/datasets")
def datasets(request: Request, public: Public, store: Store, cache: Cache) -> Response:
    releases = []
    for version in store.versions():
        info = public.info(version)
        sums = store.manifest(version)
        files = []
        for r in info.datapackage.get("resources", []):
            path = str(r["path"])
            parquet = path.removesuffix(".csv") + ".parquet"
            files.append({"resource": r, "csv": path, "sha256": sums.get(path, ""),
                          "bytes": r.get("bytes"),
                          "parquet": parquet if parquet in sums else None})
        listed = {f["csv"] for f in files} | {f["parquet"] for f in files}
        others = sorted(name for name in sums if name not in listed)
        releases.append({"info": info, "files": files, "others": others})
    body = _render("datasets.html", current="/datasets", releases=releases,
                   latest=store.latest())
    return _page(request, cache, store, body)


@router.get("/methodology")
def methodology(request: Request, public: Public, store: Store, cache: Cache,
                release: str | None = None) -> Response:
    version = _release(public, release)
    if release and version is None:
        return _not_found("There is no such release.")
    info = public.info(version) if version else None
    own = "methodology.html" in store.manifest(version) if version else False
    body = _render("methodology.html", current="/methodology", info=info,
                   versions=store.versions(), version=version, own_methodology=own)
    return _page(request, cache, store, body)


@router.get("/explore")
def explore(request: Request, public: Public, store: Store, cache: Cache) -> Response:
    params = request.query_params
    version = _release(public, params.get("release"))
    if version is None:
        body = _render("explore.html", current="/explore", version=None, tables=[], table=None)
        return _page(request, cache, store, body)
    info = public.info(version)
    aggregates = [r for r in info.tables() if is_aggregate(r)]
    names = [r["name"] for r in aggregates]
    name = params.get("table") if params.get("table") in names else (names[0] if names else None)
    if name is None:
        body = _render("explore.html", current="/explore", version=version, tables=[],
                       table=None)
        return _page(request, cache, store, body)
    table = public.table(version, name)
    dims = list(table.dimensions)
    by = str(params["by"]) if params.get("by") in dims else dims[0]
    fixed: dict[str, tuple[str, ...]] = {}
    pickers = []
    for dim in dims:
        if dim == by:
            continue
        choices = options(table, dim)
        wanted = params.get(dim)
        if wanted is None or wanted not in table.values.get(dim, []):
            wanted = busiest(table, dim, fixed) or ""
        fixed[dim] = (wanted,)
        pickers.append({"name": dim, "title": column_title(dim), "choices": choices,
                        "selected": wanted})
    rows = table.records(fixed)
    fixed_text = ", ".join(f"{column_title(d)}: {value_label(d, v[0] or None)}"
                           for d, v in fixed.items())
    chart = bar_chart(rows, by, f"{table.title}" + (f" — {fixed_text}" if fixed_text else ""))
    api_query = urlencode([(d, v[0]) for d, v in fixed.items()])
    body = _render(
        "explore.html", current="/explore", version=version, versions=store.versions(),
        tables=[(r["name"], r.get("title", r["name"])) for r in aggregates], table=table,
        by=by, dims=dims, pickers=pickers, rows=rows, chart=chart, info=info,
        api_url=f"{table.url}?{api_query}" if api_query else table.url,
        csv_url=f"{table.url}?{api_query}&_format=csv" if api_query
        else f"{table.url}?_format=csv")
    return _page(request, cache, store, body)


@router.get("/countries/{iso3}")
def country(iso3: str, request: Request, public: Public, store: Store, cache: Cache,
            lang: str | None = None) -> Response:
    lang = language(lang)
    code = iso3.upper()
    if not is_country(code):
        return _not_found("There is no country with this ISO 3166 alpha-3 code.", lang)
    version = _release(public, None)
    sections = []
    if version is not None:
        for table, field in _country_tables(public, version):
            others = [d for d in table.dimensions if d != field]
            years = [d for d in others if d.startswith("year")]
            by = years[0] if years else (others[0] if others else field)
            fixed: dict[str, tuple[str, ...]] = {field: (code,)}
            described = []
            usable = True
            for d in others:
                if d == by:
                    continue
                if set(table.values.get(d, [])) <= {"0", "1", ""}:
                    fixed[d] = ("1",)
                    described.append(column_title(d))
                else:
                    usable = False
            if not usable:
                continue
            rows = table.records(fixed)
            published = [r for r in rows if r.get("flag") != "c"]
            title = f"{table.title} — {column_title(field)}: {country_name(code, lang)}"
            if described:
                title += " (" + ", ".join(described) + ")"
            query = urlencode([(k, v[0]) for k, v in fixed.items()])
            sections.append({"table": table, "field": field, "by": by, "rows": rows,
                             "published": len(published),
                             "chart": bar_chart(rows, by, title, lang),
                             "url": f"{table.url}?{query}"})
    subregion, region = region_names(code, lang)
    body = _render("country.html", current="", lang=lang, iso3=code,
                   name=country_name(code, lang), subregion=subregion, region=region,
                   sections=sections, version=version,
                   info=public.info(version) if version else None, languages=LANGUAGES)
    return _page(request, cache, store, body)


@router.get("/api")
def api_reference(request: Request, store: Store, cache: Cache) -> Response:
    """The API's reference, generated from its OpenAPI document and its error classes."""
    document = request.app.openapi()
    operations = [{"method": method.upper(), "path": path, "summary": op.get("summary", ""),
                   "partner": "partner" in op.get("tags", [])}
                  for path, item in document["paths"].items() for method, op in item.items()]
    body = _render("api.html", current="/api", operations=operations,
                   problems=problem_types(), base=PROBLEM_BASE)
    return _page(request, cache, store, body)


@router.get("/partner")
def partner(request: Request, store: Store, cache: Cache) -> Response:
    enabled = request.app.state.config.partner_api
    body = _render("partner.html", current="/partner", enabled=enabled,
                   max_bytes=request.app.state.config.max_upload_bytes)
    return _page(request, cache, store, body)
