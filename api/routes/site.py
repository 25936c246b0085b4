"""The public site, served from release folders, and the partner portal."""

from __future__ import annotations

import functools
import re
from importlib import resources
from pathlib import PurePosixPath
from typing import Any

import anyio.to_thread
import jinja2
import yaml
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from api.cache import Prepared, answer
from api.deps import Cache, Public, Store
from api.problems import PROBLEM_BASE, problem_types
from api.releases_store import LATEST, ReleaseStore
from api.routes.files import send_file
from api.routes.static import asset_url
from publish.site.labels import LANGUAGE_NAMES, LANGUAGES, ui
from schemas.errors import NotFound

# The site's pages are files of a release, rendered when it was published (site/ in its
# folder, English at its root and French under fr/; see publish/site/render.py). The URL space
# mirrors the releases folder: / is the latest release's site/, so /countries/LBY is
# site/countries/LBY.html; /<version>/... is any release's folder, so an earlier release's site
# keeps working; any other path is a file of the latest release (the pages' links to
# ../data/... land there). Pages are read once and kept as bytes like the API's answers.
router = APIRouter(tags=["site"], include_in_schema=False)
TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("api", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
)
TEMPLATES.globals.update(asset=asset_url)
# The main navigation: (path, key of the label in publish's catalogue or, for the portal, the
# portal's own); a French page's links lead to the French pages (/fr/...).
NAV = (("", "nav_home"), ("explore", "nav_explore"), ("datasets", "nav_datasets"),
       ("methodology", "nav_methodology"), ("ledger", "nav_ledger"), ("api", "nav_api"),
       ("partner", "title"))
SITE = "site/"
PAGE_TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
              ".js": "text/javascript; charset=utf-8"}
# ISO 3166 codes are case-insensitive in URLs; the files are named in upper case.
_COUNTRY = re.compile(r"^((?:[a-z]{2}/)?countries/)([A-Za-z]{3})(\.html)?$")


class MissingPortalText(KeyError):
    """A portal text without a text in one of the languages (a bug in partner_strings.yaml)."""


@functools.cache
def portal_catalogue() -> dict[str, dict[str, dict[str, str]]]:
    """partner_strings.yaml: section -> key -> language -> text; every key in every language."""
    text = resources.files("api").joinpath("templates/partner_strings.yaml").read_text("utf-8")
    data: dict[str, dict[str, dict[str, str]]] = yaml.safe_load(text)
    for section, entries in data.items():
        for key, texts in entries.items():
            missing = [lang for lang in LANGUAGES if not (texts or {}).get(lang)]
            if missing:
                raise MissingPortalText(f"partner_strings.yaml: {section}.{key} has no text "
                                        f"for {missing}")
    return data


def portal_texts(lang: str) -> dict[str, dict[str, str]]:
    """The portal's texts in one language, section by section."""
    return {section: {key: texts[lang] for key, texts in entries.items()}
            for section, entries in portal_catalogue().items()}


def _prefix(lang: str) -> str:
    return "" if lang == "en" else f"/{lang}"


def _render(template: str, *, current: str, lang: str = "en", **context: Any) -> bytes:
    page = portal_texts(lang)["page"]

    def text(key: str, **values: object) -> str:
        """A text of the portal's catalogue, else of the site's (publish's ui())."""
        if key in page:
            return page[key].format(**values) if values else page[key]
        return ui(key, lang, **values)

    nav = [(f"{_prefix(lang)}/{path}", text(key)) for path, key in NAV]
    return TEMPLATES.get_template(template).render(
        nav=nav, current=current, lang=lang, rtl=False, _=text, home=f"{_prefix(lang)}/",
        **context).encode()


def _not_found(message: str, status: int = 404) -> Response:
    body = _render("error.html", current="", title="Not found" if status == 404 else "ctcollab",
                   message=message)
    return Response(body, status_code=status, media_type="text/html; charset=utf-8")


def locate(store: ReleaseStore, path: str) -> tuple[str, str, bool] | None:
    """(version, file of the release, whether the URL named the version) for a site URL."""
    first, _, rest = path.partition("/")
    if first and first in store.versions():
        manifest = store.manifest(first)
        for candidate in (rest, rest + "index.html"):
            if candidate in manifest:
                return first, candidate, True
        return None
    latest = store.latest()
    if latest is None:
        return None
    manifest = store.manifest(latest)
    wanted = path.rstrip("/")
    country = _COUNTRY.match(wanted)
    if country:
        wanted = country.group(1) + country.group(2).upper() + (country.group(3) or "")
    pages = ([f"{SITE}index.html"] if wanted == "" else
             [SITE + wanted, f"{SITE}{wanted}.html", f"{SITE}{wanted}/index.html"])
    for candidate in [*pages, path]:
        if candidate in manifest:
            return latest, candidate, False
    return None


def _moved(store: ReleaseStore, path: str, found: tuple[str, str, bool] | None,
           lang: str | None, release: str | None) -> Response | None:
    """Where the live pages' query parameters now lead: ``?lang=fr`` to the French page,
    ``?release=V`` to the same page of release V's own site."""
    if found is None or found[2] or not found[1].startswith(SITE):
        return None
    page = found[1].removeprefix(SITE)
    if lang in LANGUAGES and lang != "en" and not page.startswith(f"{lang}/"):
        return RedirectResponse(f"/{lang}/{path}", status_code=308)
    if release is not None:
        if release not in store.versions() or found[1] not in store.manifest(release):
            return _not_found("There is no such release, or it has no such page; the home "
                              "page links every earlier release.")
        return RedirectResponse(f"/{release}/{found[1]}", status_code=308)
    return None


def _page(request: Request, cache: Cache, store: Store, version: str, relpath: str,
          pinned: bool) -> Response:
    """A page (or its stylesheet or script) of a release's site, as prepared bytes."""
    body = store.file(version, relpath).read_bytes()
    media = PAGE_TYPES.get(PurePosixPath(relpath).suffix, "application/octet-stream")
    entry = Prepared.build(body, media, [(b"x-ctcollab-release", version.encode())],
                           version=version, follows_latest=not pinned, immutable=pinned,
                           etag=store.manifest(version).get(relpath) or None)
    scope = request.scope
    return answer(scope["path"], scope["query_string"], request.headers.get("if-none-match"),
                  cache, entry)


@router.get("/partner")
def partner(request: Request, cache: Cache, store: Store) -> Response:
    """The partner portal in English; /fr/partner is the same portal in French."""
    return _partner(request, cache, store, "en")


@router.get("/fr/partner")
def partner_fr(request: Request, cache: Cache, store: Store) -> Response:
    """The partner portal in French (its texts: api/templates/partner_strings.yaml)."""
    return _partner(request, cache, store, "fr")


def _partner(request: Request, cache: Cache, store: Store, lang: str) -> Response:
    enabled = request.app.state.config.partner_api
    texts = portal_texts(lang)
    script = {section: texts[section] for section in ("script", "status", "reasons", "errors")}
    languages = [(f"{_prefix(code)}/partner", code, name) for code, name in LANGUAGE_NAMES.items()]
    body = _render("partner.html", current=f"{_prefix(lang)}/partner", lang=lang,
                   enabled=enabled, max_bytes=request.app.state.config.max_upload_bytes,
                   script_texts=script, languages=languages)
    entry = Prepared.build(body, "text/html; charset=utf-8", [], version=store.latest(),
                           follows_latest=True, immutable=False)
    scope = request.scope
    return answer(scope["path"], scope["query_string"], request.headers.get("if-none-match"),
                  cache, entry)


@router.get("/api/reference")
def api_reference(request: Request, cache: Cache) -> Response:
    """This server's API reference, generated from its OpenAPI document and error classes
    (the release's own API guide, /api, cannot know which server will serve it)."""
    document = request.app.openapi()
    operations = [{"method": method.upper(), "path": path, "summary": op.get("summary", ""),
                   "partner": "partner" in op.get("tags", [])}
                  for path, item in document["paths"].items() for method, op in item.items()]
    body = _render("api.html", current="/api", operations=operations,
                   problems=problem_types(), base=PROBLEM_BASE)
    entry = Prepared.build(body, "text/html; charset=utf-8", [], version=None,
                           follows_latest=False, immutable=False)
    scope = request.scope
    return answer(scope["path"], scope["query_string"], request.headers.get("if-none-match"),
                  cache, entry)


@router.get("/{path:path}")
async def site(path: str, request: Request, public: Public, store: Store,
               cache: Cache) -> Response:
    """A page of the latest release's site, a file of the latest release, or any file of
    the release a URL names (registered last: every other route comes first)."""
    if path.startswith("api/v1/") or path == "api/v1":
        raise NotFound("there is no such endpoint",
                       hint="GET /api/v1/openapi.json describes the API")
    found = await anyio.to_thread.run_sync(locate, store, path)
    moved = _moved(store, path, found, request.query_params.get("lang"),
                   request.query_params.get("release"))
    if moved is not None:
        return moved
    if found is None:
        if path == "" and store.latest() is None:
            return _not_found("No release has been published yet.", status=200)
        return _not_found("There is no such page in the published releases.")
    version, relpath, pinned = found
    if relpath.startswith(SITE):
        return await anyio.to_thread.run_sync(_page, request, cache, store, version, relpath,
                                              pinned)
    return await send_file(request, cache, public, version if pinned else LATEST, relpath)
